import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeWriteRequest, type RemoteTimeSeries } from '../src/metrics/remote-write/codec.js';
import { startPrometheus } from '../test/support/peer-process.js';
import { fmt, tokenFor } from './metrics-support.js';
import { writeSection } from './results.js';
import { serviceEntry, startService } from './service-process.js';

const LIMITS_LIFTED = { LIMIT_SAMPLES_PER_SECOND: '1000000000', LIMIT_SAMPLES_BURST: '1000000000', LIMIT_REQUESTS_PER_TENANT: '1000000000', LIMIT_REQUESTS_PER_IP: '1000000000', LIMIT_CONCURRENT_REQUESTS_PER_TENANT: '64' };

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
  const first = await startService({ DATA_DIR: dataDir, ...LIMITS_LIFTED });
  await sleep(SETTLE_MS);
  service.firstIdle = first.rssMiB();
  await first.stop();
  const restarted = await startService({ DATA_DIR: dataDir, ...LIMITS_LIFTED });
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
const body = `The embedded default (no DATABASE_URL) started as \`${serviceEntry.label}\` in its own process with a new DATA_DIR; RSS ${SETTLE_MS / 1000} s after /health/live answers. Then restarted on the same directory (what every later start is), idle again, then ${SAMPLES.toLocaleString('en-US')} samples of ${SERIES} series one second apart pushed as JSON to \`POST /api/v1/monitoring/metrics\` (bearer token, batches of ${BATCH.toLocaleString('en-US')}, ${WRITERS} writers, limits lifted), RSS ${SETTLE_MS / 1000} s after the last batch; peak is VmHWM of the restarted process. Prometheus (Debian's package, private port and data directory, scraping nothing) in the same run takes the same samples by remote write (\`src/metrics/remote-write/codec.ts\`, one writer in time order); its RSS is its own \`process_resident_memory_bytes\`. Load average at the end: ${loadavg().map((value) => value.toFixed(1)).join(', ')}.

| process | idle, new data dir MiB | idle after restart MiB | after ingest MiB | peak MiB | ingest samples/s |
|---|---|---|---|---|---|
| this service, embedded default | ${fmt(service.firstIdle, 0)} | ${fmt(service.idle, 0)} | ${fmt(service.afterIngest, 0)} | ${fmt(service.peak, 0)} | ${rate(service.ingestMs)} |
| Prometheus | - | ${fmt(peer.idle, 0)} | ${fmt(peer.afterIngest, 0)} | - | ${rate(peer.ingestMs)} |`;
writeSection('Memory: embedded default beside Prometheus (issue 14, point 3)', body);
process.stdout.write(`${body}\n`);
