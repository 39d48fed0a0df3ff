import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { signUserToken } from '../src/auth/jwt.js';
import { percentile, writeSection } from './results.js';

/**
 * WebSocket fan-out: 1,000 subscribers (`*`) of one tenant while samples are ingested at 200 a
 * second for 30 s (commits of 10 samples every 50 ms). Latency = client receipt - ingest commit
 * (`committed_at`), per delivered message; server memory is the peak RSS of the server process.
 * Baseline in the same run: the same load with a single subscriber. Then two instances on one
 * Redis: ingest on instance 1, 500 subscribers on each instance.
 * Server(s) and subscribers run in separate processes.
 */
const SECRET = 'bench-jwt-secret-that-is-long-enough-0123456789';
const RATE = 200;
const BATCH = 10;
const DURATION_MS = Number(process.env['BENCH_REALTIME_DURATION_MS'] ?? 30_000);
const REDIS_URL = process.env['BENCH_REDIS_URL'] ?? process.env['TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379/6';
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

interface Done {
  commits: number;
  failures: number;
  samples: number;
  rssBefore: number;
  peakRss: number;
  heapUsed: number;
  connections: number;
}

function waitMessage<T>(child: ChildProcess, key: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: Record<string, unknown>) => {
      if (key in message) {
        child.off('message', onMessage);
        resolve(message as T);
      }
    };
    child.on('message', onMessage);
    child.once('exit', (code) => reject(new Error(`${key}: child exited with ${code}`)));
  });
}

function startServer(env: Record<string, string>): ChildProcess {
  return fork(here('./realtime-server.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      DATA_DIR: 'memory://',
      JWT_SECRET: SECRET,
      INTERNAL_HMAC_SECRET: SECRET,
      ANOMALY_DETECTION_ENABLED: 'false',
      BUS_CONSUMERS_ENABLED: 'false',
      DATABASE_URL: '',
      REDIS_URL: '',
      ...env,
    },
  });
}

interface Scenario {
  title: string;
  servers: Array<Record<string, string>>;
  /** Subscribers per server index. */
  subscribers: number[];
}

interface Outcome {
  title: string;
  perServer: Array<{ label: string; count: number; p50: number; p99: number; max: number; delivered: number; expected: number }>;
  done: Done;
  rssIdle: number[];
  closedEarly: number;
}

async function run(scenario: Scenario): Promise<Outcome> {
  const servers = scenario.servers.map((env) => startServer(env));
  const children: ChildProcess[] = [...servers];
  try {
    const listening = await Promise.all(servers.map((server) => waitMessage<{ listening: number; rssIdle: number }>(server, 'listening')));
    const tenantId = randomUUID();
    const token = await signUserToken(SECRET, { sub: 'bench', tenant_id: tenantId, roles: ['viewer'] }, '1h');
    const targets = listening.map((server, index) => ({ url: `ws://127.0.0.1:${server.listening}`, count: scenario.subscribers[index] ?? 0, label: `instance ${index + 1}` })).filter((target) => target.count > 0);
    const clients = fork(here('./realtime-clients.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, TARGETS: JSON.stringify(targets), TOKEN: token } });
    children.push(clients);
    await waitMessage(clients, 'ready');
    const ingestServer = servers[0];
    if (ingestServer === undefined) throw new Error('no server');
    ingestServer.send({ start: { tenantId, samplesPerSecond: RATE, batch: BATCH, durationMs: DURATION_MS } });
    const { done } = await waitMessage<{ done: Done }>(ingestServer, 'done');
    clients.send({ report: true });
    const { report, closedEarly } = await waitMessage<{ report: Record<string, number[]>; closedEarly: number }>(clients, 'report');
    const perServer = targets.map((target) => {
      const sorted = [...(report[target.label] ?? [])].sort((a, b) => a - b);
      return { label: target.label, count: target.count, p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted.at(-1) ?? Number.NaN, delivered: sorted.length, expected: done.commits * target.count };
    });
    return { title: scenario.title, perServer, done, rssIdle: listening.map((server) => server.rssIdle), closedEarly };
  } finally {
    for (const server of servers) if (server.connected) server.send({ stop: true });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  }
}

async function redisReachable(): Promise<boolean> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return true;
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const ms = (value: number) => `${value.toFixed(0)} ms`;

async function main(): Promise<void> {
  const scenarios: Scenario[] = [
    { title: 'baseline: 1 subscriber, one instance', servers: [{}], subscribers: [1] },
    { title: '1,000 subscribers, one instance', servers: [{}], subscribers: [1_000] },
  ];
  const withRedis = await redisReachable();
  if (withRedis) scenarios.push({ title: '1,000 subscribers, two instances on Redis (ingest on 1)', servers: [{ REDIS_URL }, { REDIS_URL }], subscribers: [500, 500] });

  const loadBefore = loadavg()[0] ?? 0;
  const outcomes: Outcome[] = [];
  for (const scenario of scenarios) {
    process.stdout.write(`realtime: ${scenario.title}\n`);
    const outcome = await run(scenario);
    outcomes.push(outcome);
    for (const row of outcome.perServer) process.stdout.write(`  ${row.label}: p50 ${ms(row.p50)} p99 ${ms(row.p99)} delivered ${row.delivered}/${row.expected}\n`);
  }

  const rows = outcomes.flatMap((outcome) =>
    outcome.perServer.map(
      (row, index) =>
        `| ${outcome.title} | ${row.label} (${row.count} subs) | ${index === 0 ? `${(outcome.done.samples / (DURATION_MS / 1000)).toFixed(0)}/s` : ''} | ${ms(row.p50)} | ${ms(row.p99)} | ${ms(row.max)} | ${row.delivered} / ${row.expected} | ${index === 0 ? `${mb(outcome.rssIdle[0] ?? 0)} -> ${mb(outcome.done.peakRss)}` : ''} |`,
    ),
  );
  const body = [
    `Ingest ${RATE} samples/s for ${DURATION_MS / 1000} s as commits of ${BATCH} samples every ${(1000 * BATCH) / RATE} ms (offered: ${(RATE * DURATION_MS) / 1000 / BATCH} commits; "samples committed" is the rate the server reached); every subscriber subscribes to \`*\` of the tenant. Latency = client receipt - \`committed_at\` of the commit (ms resolution), one figure per delivered message. Memory = RSS of the ingesting server process, idle (listening, no client) -> peak during the run. Servers and clients run in separate processes on the same machine (embedded PGlite; anomaly scoring and bus consumers off).`,
    '',
    '| scenario | where the subscribers are | samples committed | p50 | p99 | max | messages delivered / expected | server RSS |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    withRedis ? `Two instances: fan-out to instance 2 crosses Redis pub/sub (${REDIS_URL.replace(/\/\/[^@]*@/, '//')}).` : `Two instances on Redis: not run (no Redis at ${REDIS_URL}; set BENCH_REDIS_URL).`,
    `Goal: p99 under 50 ms with 1,000 subscribers. Machine load average (1 min) ${loadBefore.toFixed(1)} before and ${(loadavg()[0] ?? 0).toFixed(1)} after the run (above 2 means other work shared the cores).`,
  ].join('\n');
  writeSection('Realtime: WebSocket fan-out latency (issue 6)', body);
  process.stdout.write(`${body}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`realtime bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
