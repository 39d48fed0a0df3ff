import { randomUUID } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { runCompaction } from '../src/metrics/compaction.job.js';
import { encodeWriteRequest } from '../src/metrics/remote-write/codec.js';
import { startPrometheus, startVictoriaMetrics, type PeerProcess } from '../test/support/peer-process.js';
import { fmt, startApp, targets, tokenFor } from './metrics-support.js';
import { chunkSizeOf, headBytesOf } from './store-size.js';
import { percentile, writeSection } from './results.js';

/**
 * The metric store beside the systems users would otherwise pick, with issue 14's workload in one
 * run: SAMPLES samples (1 M by default) of SERIES series one second apart, batches of 1,000, 4
 * concurrent writers over loopback HTTP; then one series over 24 h at a 1-minute step, RUNS times.
 * Prometheus and VictoriaMetrics (Debian's packages, private ports and data directories) take the
 * batches by remote write and answer /api/v1/query_range; this service takes them as JSON on
 * POST /api/v1/monitoring/metrics (limits lifted: throughput, not fairness) and answers
 * POST /grafana/query. Request bodies are encoded before the clock starts: the servers are timed,
 * not the client. Bytes per sample: the data directory (Prometheus: WAL and head chunks, as it
 * holds the last hours; VictoriaMetrics: after a flush) or, for this service, the head's
 * partitions after the ingest and the chunks' after the compaction job (the query is timed on both).
 */

const SAMPLES = Number(process.env['STORE_SAMPLES'] ?? 1_000_000);
const SERIES = 50;
const BATCH = 1_000;
const WRITERS = 4;
const RUNS = 30;
const DAY_MS = 86_400_000;
const end = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
const start = end - (SAMPLES / SERIES) * 1000;

interface Sample {
  series: number;
  at: number;
  value: number;
}

interface Outcome {
  ingestMs: number;
  bytes: number;
  query: number[];
  points: number;
  /** This service after the compaction job turned the day into chunks. */
  compacted?: { bytes: number; query: number[]; ms: number };
}

/**
 * Each writer owns a shard of the series and sends its batches in time order, as Prometheus'
 * remote-write shards do: a series' samples never overtake each other (Prometheus refuses
 * out-of-order samples).
 */
const shards: Sample[][][] = Array.from({ length: WRITERS }, (_, writer) => {
  const owned = Array.from({ length: SERIES }, (_, series) => series).filter((series) => series % WRITERS === writer);
  const samples: Sample[] = [];
  for (let step = 0; step < SAMPLES / SERIES; step += 1) {
    // A counter per series that moves by small steps, as request counters do.
    for (const series of owned) samples.push({ series, at: start + step * 1000, value: step * 3 + ((step + series) % 7) });
  }
  const batches: Sample[][] = [];
  for (let first = 0; first < samples.length; first += BATCH) batches.push(samples.slice(first, first + BATCH));
  return batches;
});

/** Sends each shard's bodies in order, the shards side by side. */
async function inParallel<T>(bodies: readonly (readonly T[])[], send: (body: T) => Promise<void>): Promise<number> {
  const started = performance.now();
  await Promise.all(bodies.map(async (shard) => {
    for (const body of shard) await send(body);
  }));
  return performance.now() - started;
}

async function timeQueries(query: () => Promise<void>): Promise<number[]> {
  const times: number[] = [];
  for (let run = 0; run < RUNS; run += 1) {
    const started = performance.now();
    await query();
    times.push(performance.now() - started);
  }
  // In run order: the first is the query right after the ingest (cold caches).
  return times;
}

const p50Of = (times: readonly number[]) => percentile([...times].sort((a, b) => a - b), 50);

async function ok(response: Response, what: string): Promise<void> {
  if (!response.ok) throw new Error(`${what} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  await response.arrayBuffer();
}

const diskBytes = (directory: string): number => Number(execFileSync('du', ['-sb', directory], { encoding: 'utf8' }).split('\t')[0]);

const remoteWriteBodies = (): Uint8Array[][] =>
  shards.map((batches) => batches.map((batch) => {
    const bySeries = new Map<number, Sample[]>();
    for (const sample of batch) bySeries.set(sample.series, [...(bySeries.get(sample.series) ?? []), sample]);
    return encodeWriteRequest({
      timeseries: [...bySeries].map(([series, samples]) => ({
        labels: [{ name: '__name__', value: 'bench_store' }, { name: 'series', value: `s${series}` }, { name: 'service', value: 'bench' }],
        samples: samples.map((sample) => ({ value: sample.value, timestamp: sample.at })),
      })),
    });
  }));

async function peer(peerProcess: PeerProcess, name: string, flush?: string): Promise<Outcome> {
  const { url } = peerProcess;
  try {
    const bodies = remoteWriteBodies();
    const headers = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
    const ingestMs = await inParallel(bodies, async (body) => ok(await fetch(`${url}/api/v1/write`, { method: 'POST', headers, body }), `${name} remote write`));
    if (flush !== undefined) await ok(await fetch(`${url}${flush}`), `${name} flush`);
    const bytes = diskBytes(peerProcess.dataDir);
    const queryUrl = `${url}/api/v1/query_range?query=${encodeURIComponent('bench_store{series="s0"}')}&start=${(end - DAY_MS) / 1000}&end=${end / 1000}&step=60s`;
    const query = await timeQueries(async () => ok(await fetch(queryUrl), `${name} query_range`));
    const answer = (await (await fetch(queryUrl)).json()) as { data?: { result?: Array<{ values?: unknown[] }> } };
    return { ingestMs, bytes, query, points: answer.data?.result?.[0]?.values?.length ?? 0 };
  } finally {
    await peerProcess.stop();
  }
}

/** The service on loopback (limits lifted: throughput, not fairness) after the workload's JSON push; the push is timed. */
async function pushToService(env: Record<string, string>) {
  const lifted = { LIMIT_SAMPLES_PER_SECOND: '1000000000', LIMIT_SAMPLES_BURST: '1000000000', LIMIT_REQUESTS_PER_TENANT: '1000000000', LIMIT_REQUESTS_PER_IP: '1000000000', LIMIT_CONCURRENT_REQUESTS_PER_TENANT: '64' };
  const { app, container } = await startApp({ ...env, ...lifted });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  const tenant = randomUUID();
  const authorization = await tokenFor(tenant, ['admin']);
  const headers = { authorization, 'content-type': 'application/json' };
  const bodies = shards.map((batches) => batches.map((batch) => JSON.stringify({ metrics: batch.map((sample) => ({ name: 'bench_store', service: 'bench', value: sample.value, labels: { series: `s${sample.series}` }, timestamp: new Date(sample.at).toISOString() })) })));
  try {
    const ingestMs = await inParallel(bodies, async (body) => ok(await fetch(`${base}/api/v1/monitoring/metrics`, { method: 'POST', headers, body }), 'POST /metrics'));
    return { app, container, base, tenant, headers, ingestMs };
  } catch (error) {
    await app.close();
    throw error;
  }
}

async function service(env: Record<string, string>): Promise<Outcome> {
  const { app, container, base, tenant, headers, ingestMs } = await pushToService(env);
  try {
    const body = JSON.stringify({
      range: { from: new Date(end - DAY_MS).toISOString(), to: new Date(end).toISOString() },
      intervalMs: 60_000,
      maxDataPoints: 10_000,
      targets: [{ target: 'bench_store', refId: 'A', type: 'timeserie', payload: { match: ['series="s0"'] } }],
    });
    const headBytes = await headBytesOf(container.db, tenant);
    const query = await timeQueries(async () => ok(await fetch(`${base}/grafana/query`, { method: 'POST', headers, body }), 'POST /grafana/query'));
    const answer = (await (await fetch(`${base}/grafana/query`, { method: 'POST', headers, body })).json()) as Array<{ datapoints?: unknown[] }>;
    // The samples are today's: compaction is asked as if the day had closed, as its job will once it has.
    const compactStarted = performance.now();
    const compaction = await runCompaction({ db: container.db, logger: container.logger, delayMs: 0 }, new Date(end + 2 * DAY_MS));
    const compactMs = performance.now() - compactStarted;
    if (compaction.failed > 0 || compaction.samples < SAMPLES) throw new Error(`compaction moved ${compaction.samples} samples with ${compaction.failed} failed units`);
    const chunkBytes = (await chunkSizeOf(container.db, tenant)).bytes;
    const compactedQuery = await timeQueries(async () => ok(await fetch(`${base}/grafana/query`, { method: 'POST', headers, body }), 'POST /grafana/query'));
    const compactedAnswer = (await (await fetch(`${base}/grafana/query`, { method: 'POST', headers, body })).json()) as Array<{ datapoints?: unknown[] }>;
    if (JSON.stringify(compactedAnswer) !== JSON.stringify(answer)) throw new Error('the query answered differently after compaction');
    return { ingestMs, bytes: headBytes, query, points: answer[0]?.datapoints?.length ?? 0, compacted: { bytes: chunkBytes, query: compactedQuery, ms: compactMs } };
  } finally {
    await app.close();
  }
}

/**
 * This service with METRICS_STORE=victoriametrics on a fresh VictoriaMetrics: the same JSON push,
 * and the same query as the peers' through the service's /api/v1/query_range (the tenant forced by
 * the service); `direct` is that VictoriaMetrics asked the same query itself in the same run.
 */
async function serviceOnVictoria(env: Record<string, string>): Promise<{ outcome: Outcome; direct: number[] }> {
  const victoria = await startVictoriaMetrics();
  const pushed = await pushToService({ ...env, METRICS_STORE: 'victoriametrics', METRICS_STORE_URL: victoria.url }).catch(async (error: unknown) => {
    await victoria.stop();
    throw error;
  });
  const { app, base, tenant, headers, ingestMs } = pushed;
  try {
    await ok(await fetch(`${victoria.url}/internal/force_flush`), 'VictoriaMetrics flush');
    const bytes = diskBytes(victoria.dataDir);
    const range = `query=${encodeURIComponent('bench_store{series="s0"}')}&start=${(end - DAY_MS) / 1000}&end=${end / 1000}&step=60s`;
    const points = async (): Promise<number> => ((await (await fetch(`${base}/api/v1/query_range?${range}`, { headers })).json()) as { data?: { result?: Array<{ values?: unknown[] }> } }).data?.result?.[0]?.values?.length ?? 0;
    // A new series is searchable within seconds of its first write: polled before the clock starts.
    for (let attempt = 0; attempt < 300 && (await points()) === 0; attempt += 1) await new Promise((resolve) => setTimeout(resolve, 100));
    const query = await timeQueries(async () => ok(await fetch(`${base}/api/v1/query_range?${range}`, { headers }), 'GET /api/v1/query_range'));
    const direct = await timeQueries(async () => ok(await fetch(`${victoria.url}/api/v1/query_range?${range}&extra_label=tenant_id=${tenant}`), 'VictoriaMetrics query_range'));
    return { outcome: { ingestMs, bytes, query, points: await points() }, direct };
  } finally {
    await app.close();
    await victoria.stop();
  }
}

interface Row {
  system: string;
  outcome: Outcome;
}

const rows: Row[] = [];
rows.push({ system: 'Prometheus 2.42 (remote write)', outcome: await peer(await startPrometheus(), 'Prometheus') });
process.stdout.write('Prometheus done\n');
rows.push({ system: 'VictoriaMetrics 1.79 (remote write)', outcome: await peer(await startVictoriaMetrics(), 'VictoriaMetrics', '/internal/force_flush') });
process.stdout.write('VictoriaMetrics done\n');
for (const target of targets()) {
  rows.push({ system: `this service on ${target.label} (JSON push)`, outcome: await service(target.env) });
  process.stdout.write(`${target.label} done\n`);
}

const adapterTarget = targets().at(-1);
let adapterDirect: number[] = [];
if (adapterTarget !== undefined) {
  const { outcome, direct } = await serviceOnVictoria(adapterTarget.env);
  rows.push({ system: `this service with METRICS_STORE=victoriametrics (catalogue on ${adapterTarget.label}; JSON push, /api/v1/query_range)`, outcome });
  adapterDirect = direct;
  process.stdout.write('VictoriaMetrics adapter done\n');
}

const [prometheus] = rows;
const baseRate = prometheus === undefined ? 1 : SAMPLES / (prometheus.outcome.ingestMs / 1000);
const baseP50 = prometheus === undefined ? 1 : p50Of(prometheus.outcome.query);
const line = (system: string, rate: number, bytes: number, query: number[], points: number) => {
  const p50 = p50Of(query);
  return `| ${system} | ${fmt(rate, 0)} | ${fmt(rate / baseRate, 3)} | ${fmt(bytes / SAMPLES, 1)} | ${fmt(query[0] ?? Number.NaN, 1)} | ${fmt(p50, 2)} | ${fmt(p50 / baseP50, 1)} | ${points} |`;
};
const table = rows.flatMap(({ system, outcome }) => {
  const rate = SAMPLES / (outcome.ingestMs / 1000);
  const lines = [line(`${system}${outcome.compacted === undefined ? '' : ', head'}`, rate, outcome.bytes, outcome.query, outcome.points)];
  if (outcome.compacted !== undefined) lines.push(line(`${system}, compacted in ${fmt(outcome.compacted.ms / 1000, 1)} s`, rate, outcome.compacted.bytes, outcome.compacted.query, outcome.points));
  return lines;
});

const body = `${SAMPLES.toLocaleString('en-US')} samples of ${SERIES} series one second apart, batches of ${BATCH.toLocaleString('en-US')}, ${WRITERS} concurrent writers over loopback HTTP (each owns a shard of the series and sends it in time order, as Prometheus' remote-write shards do), bodies encoded before the clock starts; then one series over 24 h at a 1-minute step, ${RUNS} runs (Prometheus and VictoriaMetrics: remote write in, \`/api/v1/query_range\` out; this service: JSON push in, \`POST /grafana/query\` with a label matcher out). Bytes per sample: Prometheus' and VictoriaMetrics' data directories after the ingest (Prometheus holds recent samples in its WAL and head chunks until it cuts a 2 h block), this service's head partitions after the ingest, then its chunk partitions after the compaction job turned the day into one chunk per series (tables, indexes and TOAST, this run's share, plus its series rows); the query is timed on each; the first query is the one right after the ingest (or the compaction). Load average at the end: ${loadavg().map((value) => value.toFixed(1)).join(', ')}.

| system | ingest samples/s | ingest vs Prometheus | bytes/sample | first query ms | query p50 ms | query vs Prometheus | points answered |
|---|---|---|---|---|---|---|---|
${table.join('\n')}`;
const victoriaRow = rows.find((row) => row.system.startsWith('VictoriaMetrics'));
const adapterRow = rows.find((row) => row.system.includes('METRICS_STORE=victoriametrics'));
const adapterNote =
  adapterRow === undefined || victoriaRow === undefined
    ? ''
    : `\n\nWith the VictoriaMetrics adapter: ingest through the service ${fmt(SAMPLES / (adapterRow.outcome.ingestMs / 1000) / baseRate, 3)}x Prometheus's (goal 0.3x); the query through the service p50 ${fmt(p50Of(adapterRow.outcome.query), 2)} ms against ${fmt(p50Of(adapterDirect), 2)} ms asking that VictoriaMetrics directly with the same tenant label in the same run (${fmt(p50Of(adapterRow.outcome.query) / p50Of(adapterDirect), 2)}x; goal at most 2x).`;
writeSection('Metric store beside Prometheus and VictoriaMetrics (issue 14 workload, same run)', body + adapterNote);
process.stdout.write(`${body}${adapterNote}\n`);
