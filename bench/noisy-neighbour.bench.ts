import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { AttackKind } from './noisy-attacker.js';
import pg from 'pg';
import { BENCH_DATABASE_URL, fmt, startApp, targets, tokenFor, type BenchTarget } from './metrics-support.js';
import { percentile, writeSection } from './results.js';

/**
 * Issue 13: one tenant must not slow another. The real service listens on loopback; tenant B
 * pushes 10 samples and reads them back, alternately, at a steady 12 requests/s (under its request
 * limit) from 127.0.0.1, while tenant A runs one attack at full speed from its own process and
 * address (bench/noisy-attacker.ts): a request burst, a label explosion, 1e308 values, a
 * catastrophic regex rule, a WebSocket flood. B's latencies are compared with B's own, A idle,
 * in the same run. Each target runs twice: with the default limits, and with every limit lifted
 * (what a tenant could do before limits existed; the RE2 engine and the short rollup units stay).
 */
const PHASE_MS = Number(process.env['NOISY_PHASE_MS'] ?? 15_000);
const B_INTERVAL_MS = 1_000 / 12;
const ALL_ATTACKS: AttackKind[] = ['burst', 'labels', 'huge', 'regex', 'websocket'];
const ATTACKS = ALL_ATTACKS.filter((kind) => (process.env['NOISY_ATTACKS'] ?? kind).split(',').includes(kind));
const LIMITS_LIFTED: Record<string, string> = Object.fromEntries(
  ['LIMIT_REQUESTS_PER_TENANT', 'LIMIT_REQUESTS_PER_IP', 'LIMIT_SAMPLES_PER_SECOND', 'LIMIT_SAMPLES_BURST', 'LIMIT_ACTIVE_SERIES', 'LIMIT_SERIES_PER_METRIC', 'LIMIT_WS_CONNECTIONS_PER_TENANT', 'LIMIT_WS_CONNECTIONS_PER_PRINCIPAL'].map((name) => [name, '1000000000']),
);

interface Phase {
  name: string;
  push: number[];
  query: number[];
  failures: number;
  attacker: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

function call(base: string, method: 'GET' | 'POST', path: string, token: string, body?: unknown): Promise<{ status: number; ms: number }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const started = performance.now();
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { authorization: token };
    if (payload !== undefined) Object.assign(headers, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
    const outgoing = request(`${base}${path}`, { method, agent, localAddress: '127.0.0.1', headers }, (incoming) => {
      incoming.resume();
      incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, ms: performance.now() - started }));
    });
    outgoing.on('error', () => resolve({ status: 0, ms: performance.now() - started }));
    outgoing.end(payload);
  });
}

/** Tenant B's steady workload for one phase. */
async function measureB(base: string, token: string, name: string, attacker: () => string): Promise<Phase> {
  const phase: Phase = { name, push: [], query: [], failures: 0, attacker: '' };
  const until = performance.now() + PHASE_MS;
  for (let index = 0; performance.now() < until; index += 1) {
    const due = performance.now() + B_INTERVAL_MS;
    if (index % 2 === 0) {
      const samples = Array.from({ length: 10 }, (_, n) => ({ name: 'b_orders', service: 'b', value: n, labels: { shard: String(n) } }));
      const { status, ms } = await call(base, 'POST', '/api/v1/monitoring/metrics', token, { metrics: samples });
      if (status === 202) phase.push.push(ms);
      else phase.failures += 1;
    } else {
      const { status, ms } = await call(base, 'GET', '/api/v1/monitoring/metrics?name=b_orders&limit=50', token);
      if (status === 200) phase.query.push(ms);
      else phase.failures += 1;
    }
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  phase.attacker = attacker();
  const slowest = [...phase.push, ...phase.query].sort((a, b) => b - a).slice(0, 5).map((ms) => Math.round(ms));
  process.stdout.write(`  ${name}: ${phase.push.length} pushes, ${phase.query.length} queries, ${phase.failures} failures, slowest ${slowest.join(', ')} ms\n`);
  return phase;
}

function startAttacker(base: string, kind: AttackKind, token: string): { stop(): void; last(): string } {
  const script = fileURLToPath(new URL('./noisy-attacker.ts', import.meta.url));
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', script, base, kind, token], { stdio: ['ignore', 'pipe', 'inherit'] });
  let last = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const lines = chunk.toString().trim().split('\n');
    last = lines[lines.length - 1] ?? last;
  });
  return { stop: () => child.kill('SIGKILL'), last: () => last };
}

/**
 * On PostgreSQL each attack gets a new database beside the bench's own (`<name>_noisy`): the jobs
 * of a later attack otherwise worked through what earlier attackers had stored.
 */
const ATTACK_DATABASE_URL = (() => {
  const url = new URL(BENCH_DATABASE_URL);
  url.pathname = `${url.pathname}_noisy`;
  return url;
})();
const ATTACK_DATABASE = ATTACK_DATABASE_URL.pathname.slice(1);

async function onBenchServer(statements: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  try {
    for (const statement of statements) await client.query(statement);
  } finally {
    await client.end();
  }
}

async function freshDatabase(): Promise<string> {
  await onBenchServer([`DROP DATABASE IF EXISTS ${ATTACK_DATABASE} WITH (FORCE)`, `CREATE DATABASE ${ATTACK_DATABASE}`]);
  return ATTACK_DATABASE_URL.toString();
}

/** One attack on a fresh service and database: B alone (warm-up, then the idle figures), then B beside A. */
async function runAttack(target: BenchTarget, mode: 'limits on' | 'limits lifted', kind: AttackKind): Promise<{ idle: Phase; attacked: Phase }> {
  const database: Record<string, string> = target.env['DATABASE_URL'] === undefined ? {} : { DATABASE_URL: await freshDatabase() };
  const env = { ...target.env, ...database, ...(mode === 'limits lifted' ? LIMITS_LIFTED : {}) };
  const { app, container } = await startApp(env);
  await app.listen({ port: 0, host: '127.0.0.1' });
  // The jobs an attack feeds run often (rule evaluation twice a second, rollups every 2 s); the
  // model-training jobs stay off so their minutes of CPU do not blur the comparison.
  const jobs = [
    setInterval(() => void container.scheduler.runNow('alert-evaluation'), 500),
    setInterval(() => void container.scheduler.runNow('metric-aggregation'), 2_000),
  ];
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  const tokenA = await tokenFor(randomUUID(), ['admin']);
  const tokenB = await tokenFor(randomUUID(), ['admin']);
  try {
    // Warm-up: B's series exist and the query plan is cached.
    await measureB(base, tokenB, 'warm-up', () => '');
    const idle = await measureB(base, tokenB, 'A idle', () => '');
    const attacker = startAttacker(base, kind, tokenA);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    try {
      return { idle, attacked: await measureB(base, tokenB, kind, () => attacker.last()) };
    } finally {
      attacker.stop();
    }
  } finally {
    for (const job of jobs) clearInterval(job);
    // A run of a job over what A stored can outlast the phase; the figures are taken already.
    await Promise.race([app.close(), new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }
}

const sorted = (values: number[]) => [...values].sort((a, b) => a - b);

const rows: string[] = [];
const verdicts: string[] = [];
const p99 = (values: number[]) => percentile(sorted(values), 99);
for (const target of targets()) {
  for (const mode of ['limits on', 'limits lifted'] as const) {
    for (const kind of ATTACKS) {
      const { idle, attacked } = await runAttack(target, mode, kind);
      const pushRatio = p99(attacked.push) / p99(idle.push);
      const queryRatio = p99(attacked.query) / p99(idle.query);
      const cell = (phase: Phase) => `${fmt(percentile(sorted(phase.push), 50))} / ${fmt(p99(phase.push))} | ${fmt(percentile(sorted(phase.query), 50))} / ${fmt(p99(phase.query))}`;
      rows.push(`| ${target.label} | ${mode} | ${kind} | ${cell(idle)} | ${cell(attacked)} | ${fmt(pushRatio, 2)}x / ${fmt(queryRatio, 2)}x | ${attacked.failures} | ${attacked.attacker || '-'} |`);
      if (mode === 'limits on' && (pushRatio > 2 || queryRatio > 2)) verdicts.push(`${target.label} ${kind}: B's p99 ${fmt(pushRatio, 2)}x (push) / ${fmt(queryRatio, 2)}x (query) of idle`);
      process.stdout.write(`${target.label} ${mode} ${kind} done\n`);
    }
  }
}

if (targets().some((target) => target.env['DATABASE_URL'] !== undefined)) await onBenchServer([`DROP DATABASE IF EXISTS ${ATTACK_DATABASE} WITH (FORCE)`]);

const body = `B pushes 10 samples / reads 50 rows alternately at 12 requests/s for ${PHASE_MS / 1000} s per phase (each attack on a fresh service and database: B alone first, then B while A attacks from its own process and address). Latencies in ms, p50 / p99; ratio = B's p99 under the attack / B's p99 with A idle. Failures = B requests not answered 202/200. A's counters: requests sent, answered 429, answered otherwise (or WebSockets opened). Load average at the end: ${loadavg().map((value) => value.toFixed(1)).join(', ')}.

| database | limits | A's attack | B alone: push p50 / p99 | query p50 / p99 | B beside A: push p50 / p99 | query p50 / p99 | B p99 ratio push / query | B failures | A |
|---|---|---|---|---|---|---|---|---|---|
${rows.join('\n')}

${verdicts.length === 0 ? 'With the default limits, B stays within 2x of its idle p99 under every attack.' : `Over 2x with the default limits: ${verdicts.join('; ')}.`}`;
writeSection('Noisy neighbour: one tenant attacking, another working (issue 13)', body);
process.stdout.write(`${body}\n`);
// Services whose close lost the 10 s race above still hold timers and sockets: end the run here,
// or `npm run bench` waits on this file forever (it did).
process.exit(0);
