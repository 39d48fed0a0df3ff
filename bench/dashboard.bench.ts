import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../src/app.js';
import { signUserToken } from '../src/auth/index.js';
import { loadConfig } from '../src/config.js';
import { createContainer } from '../src/container.js';
import { latencyByServiceAndEndpoint } from '../src/dashboard/dashboard-data.repository.js';
import { fmt } from './metrics-support.js';
import { percentile, writeSection } from './results.js';

/**
 * 1. GET /api/v1/monitoring/dashboard/performance over 100,000 performance_metrics rows
 *    (20 services x 10 endpoints, last hour), uncached (read cache flushed before each call) and
 *    cached, against the baseline: the same percentile query (one GROUPING SETS pass) straight through the Db port.
 * 2. GET /health/services/all with 8 local services (signed requests, single-flight), against
 *    the baseline: 8 parallel unsigned fetches of the same URLs.
 */
const SECRET = 'bench-jwt-secret-that-is-long-enough-0123456789';
const ROWS = 100_000;
const RUNS = 30;

const targets = [
  { label: 'PGlite', env: { DATA_DIR: 'memory://' } },
  { label: 'PostgreSQL', env: { DATABASE_URL: process.env['BENCH_DATABASE_URL'] ?? process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/monitoring_bench', DATA_DIR: '/tmp/monitoring-bench-h5' } },
].filter((target) => process.env['BENCH_DB'] === undefined || target.label.toLowerCase() === process.env['BENCH_DB']?.toLowerCase());

async function timed(runs: number, work: () => Promise<unknown>): Promise<{ p50: number; p95: number }> {
  const samples: number[] = [];
  for (let run = 0; run < runs; run += 1) {
    const started = performance.now();
    await work();
    samples.push(performance.now() - started);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95) };
}

async function services(count: number): Promise<{ urls: string[]; close(): Promise<void> }> {
  const servers: Server[] = [];
  for (let index = 0; index < count; index += 1) {
    const server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
  }
  return {
    urls: servers.map((server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    close: async () => {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    },
  };
}

const rows: string[] = ['| store | read | p50 ms | p95 ms |', '|---|---|---:|---:|'];
const healthRows: string[] = ['| check | p50 ms | p95 ms |', '|---|---:|---:|'];
const fake = await services(8);
const names = ['AUTH', 'VENUE', 'EVENT', 'TICKET', 'PAYMENT', 'MARKETPLACE', 'ANALYTICS', 'API_GATEWAY'];
const serviceEnv = Object.fromEntries(names.map((name, index) => [`${name}_SERVICE_URL`, fake.urls[index] ?? '']));

for (const target of targets) {
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent', JWT_SECRET: SECRET, INTERNAL_HMAC_SECRET: `${SECRET}-hmac`, HEALTH_RESULT_MAX_AGE_MS: '0', ...serviceEnv, ...target.env });
  const container = await createContainer({ config });
  const app = await buildApp(container);
  await app.ready();
  const tenant = randomUUID();
  const now = Date.now();
  for (let start = 0; start < ROWS; start += 5_000) {
    const batch = Array.from({ length: 5_000 }, (_, offset) => start + offset);
    await container.db.withTenant(tenant, (tx) =>
      tx.query(
        `INSERT INTO performance_metrics (tenant_id, service_name, endpoint, method, response_time_ms, status_code, "timestamp")
         SELECT $1, s, e, 'GET', ms, code, at FROM unnest($2::text[], $3::text[], $4::float8[], $5::int[], $6::timestamptz[]) AS x(s, e, ms, code, at)`,
        [tenant, batch.map((i) => `svc-${i % 20}`), batch.map((i) => `/api/e${Math.floor(i / 20) % 10}`), batch.map((i) => (i * 7919) % 2_000), batch.map((i) => (i % 50 === 0 ? 500 : 200)), batch.map((i) => new Date(now - ((i * 31) % 3_500_000)))],
      ),
    );
  }
  const authorization = `Bearer ${await signUserToken(SECRET, { sub: 'bench', tenant_id: tenant, roles: ['viewer'] }, '1h')}`;
  const read = async () => {
    const response = await app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboard/performance', headers: { authorization } });
    if (response.statusCode !== 200) throw new Error(`performance answered ${response.statusCode}`);
  };
  const from = new Date(now - 3_600_000);
  const to = new Date(now + 60_000);
  const baseline = await timed(RUNS, () => container.db.withTenant(tenant, (tx) => latencyByServiceAndEndpoint(tx, tenant, from, to, null, 200)));
  const uncached = await timed(RUNS, async () => {
    await container.cache.deletePrefix('view:');
    await read();
  });
  await read();
  const hit = await timed(RUNS * 10, read);
  rows.push(`| ${target.label} | baseline: the percentile query through the Db port | ${fmt(baseline.p50)} | ${fmt(baseline.p95)} |`);
  rows.push(`| ${target.label} | dashboard/performance, uncached | ${fmt(uncached.p50)} | ${fmt(uncached.p95)} |`);
  rows.push(`| ${target.label} | dashboard/performance, cached (${container.cache.kind}) | ${fmt(hit.p50, 2)} | ${fmt(hit.p95, 2)} |`);

  if (target.label === 'PGlite') {
    const bare = await timed(RUNS, () => Promise.all(fake.urls.map(async (url) => (await fetch(`${url}/health`)).arrayBuffer())));
    const signed = await timed(RUNS, async () => {
      const response = await app.inject({ method: 'GET', url: '/health/services/all' });
      if (response.statusCode !== 200) throw new Error(`services/all answered ${response.statusCode}`);
    });
    healthRows.push(`| baseline: 8 parallel unsigned fetches | ${fmt(bare.p50, 2)} | ${fmt(bare.p95, 2)} |`);
    healthRows.push(`| GET /health/services/all (8 signed checks, results, schema) | ${fmt(signed.p50, 2)} | ${fmt(signed.p95, 2)} |`);
  }
  await app.close();
}
await fake.close();

writeSection(
  'Dashboards and health checks (issue 5)',
  `Dashboard performance read over ${ROWS.toLocaleString('en-US')} performance_metrics rows of one tenant (20 services x 10 endpoints, last hour); ${RUNS} runs each (cached: ${RUNS * 10}).

${rows.join('\n')}

Live service checks against 8 local HTTP services answering 200:

${healthRows.join('\n')}
`,
);
process.stdout.write(`${rows.join('\n')}\n\n${healthRows.join('\n')}\n`);
