import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeWriteRequest, type RemoteTimeSeries } from '../src/metrics/remote-write/codec.js';
import { startPrometheus } from '../test/support/peer-process.js';
import { freePort } from '../test/support/private-postgres.js';
import { BENCH_JWT_SECRET, fmt, tokenFor } from './metrics-support.js';
import { writeSection } from './results.js';

/**
 * Memory of the embedded default (no DATABASE_URL: PGlite in process, in-memory cache and bus)
 * as a user runs it, in its own process: RSS at idle on a new data directory, at idle after a
 * restart on the same directory, then after SAMPLES samples of SERIES series pushed over HTTP.
 * Prometheus (Debian's package, private port and data directory) beside it in the same run: idle,
 * then after the same samples by remote write. RSS is read from /proc (the service) and from
 * Prometheus' own process_resident_memory_bytes; peak is the kernel's high-water mark (VmHWM).
 */
const SAMPLES = Number(process.env['MEMORY_SAMPLES'] ?? 1_000_000);
const SERIES = 50;
const BATCH = 1_000;
const WRITERS = 4;
/** Long enough for start-up garbage to be collected and timers to have run once. */
const SETTLE_MS = Number(process.env['MEMORY_SETTLE_MS'] ?? 15_000);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const start = Math.floor(Date.now() / 1000) * 1000 - (SAMPLES / SERIES) * 1000 - 60_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => bytes / 2 ** 20;

interface Sample {
  series: number;
  at: number;
  value: number;
}

function batchAt(first: number): Sample[] {
  return Array.from({ length: Math.min(BATCH, SAMPLES - first) }, (_, offset) => {
    const index = first + offset;
    return { series: index % SERIES, at: start + Math.floor(index / SERIES) * 1000, value: index % 997 };
  });
}

/** The built service when there is one (what `npm start` runs), else the sources under tsx. */
const entry = existsSync(join(ROOT, 'dist/main.js')) ? { label: 'node dist/main.js', args: [join(ROOT, 'dist/main.js')] } : { label: 'node --import tsx src/main.ts', args: ['--import', 'tsx', join(ROOT, 'src/main.ts')] };

function procStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`no ${field} for pid ${pid}`);
  return Number(match[1]);
}

interface ServiceProcess {
  base: string;
  rssMiB(): number;
  peakMiB(): number;
  stop(): Promise<void>;
}

async function startService(dataDir: string): Promise<ServiceProcess> {
  const port = await freePort();
  const lifted = { LIMIT_SAMPLES_PER_SECOND: '1000000000', LIMIT_SAMPLES_BURST: '1000000000', LIMIT_REQUESTS_PER_TENANT: '1000000000', LIMIT_REQUESTS_PER_IP: '1000000000', LIMIT_CONCURRENT_REQUESTS_PER_TENANT: '64' };
  const env = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn', JWT_SECRET: BENCH_JWT_SECRET, INTERNAL_HMAC_SECRET: `${BENCH_JWT_SECRET}-hmac`, ...lifted };
  const child: ChildProcess = spawn(process.execPath, entry.args, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-4_000)));
  const pid = child.pid;
  if (pid === undefined) throw new Error('the service did not start');
  const base = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(20_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  // Readiness is polled; the deadline only turns a service that never answers into an error.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if ((await fetch(`${base}/health/live`).catch(() => undefined))?.ok === true) {
      return { base, rssMiB: () => procStatusKiB(pid, 'VmRSS') / 1024, peakMiB: () => procStatusKiB(pid, 'VmHWM') / 1024, stop };
    }
    await sleep(200);
  }
  await stop();
  throw new Error(`the service did not become ready: ${errors}`);
}

async function ok(response: Response, what: string): Promise<void> {
  if (!response.ok) throw new Error(`${what} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  await response.arrayBuffer();
}

async function ingestIntoService(base: string): Promise<number> {
  const authorization = await tokenFor(randomUUID(), ['admin']);
  const headers = { authorization, 'content-type': 'application/json' };
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: WRITERS }, async () => {
    for (let first = next; first < SAMPLES; first = next) {
      next += BATCH;
      const metrics = batchAt(first).map((sample) => ({ name: 'bench_memory', service: 'bench', value: sample.value, labels: { series: `s${sample.series}` }, timestamp: new Date(sample.at).toISOString() }));
      await ok(await fetch(`${base}/api/v1/monitoring/metrics`, { method: 'POST', headers, body: JSON.stringify({ metrics }) }), 'POST /metrics');
    }
  }));
  return performance.now() - started;
}

/** One writer, batches in time order: Prometheus refuses a sample older than its series' last one. */
async function ingestIntoPrometheus(url: string): Promise<number> {
  const headers = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
  const started = performance.now();
  for (let first = 0; first < SAMPLES; first += BATCH) {
    const bySeries = new Map<number, RemoteTimeSeries>();
    for (const sample of batchAt(first)) {
      const series = bySeries.get(sample.series) ?? { labels: [{ name: '__name__', value: 'bench_memory' }, { name: 'series', value: `s${sample.series}` }, { name: 'service', value: 'bench' }], samples: [] };
      series.samples.push({ value: sample.value, timestamp: sample.at });
      bySeries.set(sample.series, series);
    }
    await ok(await fetch(`${url}/api/v1/write`, { method: 'POST', headers, body: encodeWriteRequest({ timeseries: [...bySeries.values()] }) }), 'Prometheus remote write');
  }
  return performance.now() - started;
}

async function prometheusRssMiB(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = /^process_resident_memory_bytes ([0-9.e+]+)$/m.exec(text);
  if (match?.[1] === undefined) throw new Error('Prometheus did not report process_resident_memory_bytes');
  return mib(Number(match[1]));
}

const dataDir = mkdtempSync(join(tmpdir(), 'memory-bench-'));
const service: { firstIdle: number; idle: number; afterIngest: number; peak: number; ingestMs: number } = { firstIdle: 0, idle: 0, afterIngest: 0, peak: 0, ingestMs: 0 };
try {
  const first = await startService(dataDir);
  await sleep(SETTLE_MS);
  service.firstIdle = first.rssMiB();
  await first.stop();
  const restarted = await startService(dataDir);
  try {
    await sleep(SETTLE_MS);
    service.idle = restarted.rssMiB();
    service.ingestMs = await ingestIntoService(restarted.base);
    await sleep(SETTLE_MS);
    service.afterIngest = restarted.rssMiB();
    service.peak = restarted.peakMiB();
  } finally {
    await restarted.stop();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
process.stdout.write(`service: ${JSON.stringify(service)}\n`);

const prometheus = await startPrometheus();
const peer = { idle: 0, afterIngest: 0, ingestMs: 0 };
try {
  await sleep(SETTLE_MS);
  peer.idle = await prometheusRssMiB(prometheus.url);
  peer.ingestMs = await ingestIntoPrometheus(prometheus.url);
  await sleep(SETTLE_MS);
  peer.afterIngest = await prometheusRssMiB(prometheus.url);
} finally {
  await prometheus.stop();
}
process.stdout.write(`prometheus: ${JSON.stringify(peer)}\n`);

const rate = (ms: number) => fmt(SAMPLES / (ms / 1000), 0);
const body = `The embedded default (no DATABASE_URL) started as \`${entry.label}\` in its own process with a new DATA_DIR; RSS ${SETTLE_MS / 1000} s after /health/live answers. Then restarted on the same directory (what every later start is), idle again, then ${SAMPLES.toLocaleString('en-US')} samples of ${SERIES} series one second apart pushed as JSON to \`POST /api/v1/monitoring/metrics\` (bearer token, batches of ${BATCH.toLocaleString('en-US')}, ${WRITERS} writers, limits lifted), RSS ${SETTLE_MS / 1000} s after the last batch; peak is VmHWM of the restarted process. Prometheus (Debian's package, private port and data directory, scraping nothing) in the same run takes the same samples by remote write (\`src/metrics/remote-write/codec.ts\`, one writer in time order); its RSS is its own \`process_resident_memory_bytes\`. Load average at the end: ${loadavg().map((value) => value.toFixed(1)).join(', ')}.

| process | idle, new data dir MiB | idle after restart MiB | after ingest MiB | peak MiB | ingest samples/s |
|---|---|---|---|---|---|
| this service, embedded default | ${fmt(service.firstIdle, 0)} | ${fmt(service.idle, 0)} | ${fmt(service.afterIngest, 0)} | ${fmt(service.peak, 0)} | ${rate(service.ingestMs)} |
| Prometheus | - | ${fmt(peer.idle, 0)} | ${fmt(peer.afterIngest, 0)} | - | ${rate(peer.ingestMs)} |`;
writeSection('Memory: embedded default beside Prometheus (issue 14, point 3)', body);
process.stdout.write(`${body}\n`);
