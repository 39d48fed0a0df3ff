import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { encodeWriteRequest, type RemoteTimeSeries } from '../src/metrics/remote-write/codec.js';
import { startPrometheus } from '../test/support/peer-process.js';
import { fmt, startApp, targets, tokenFor } from './metrics-support.js';
import { percentile, writeSection } from './results.js';

/**
 * Issue 17's performance goals, in one run beside Prometheus 2.42 (Debian's package), same data:
 * 100 counters (4 groups of 25) sampled every 15 s for 24 h. Ingest into the service by remote
 * write against its own JSON push (same samples, batches of 1,000 samples, 4 writers in time
 * order); then `query_range` of one series over 24 h at a 1-minute step, and
 * `sum by (group) (rate(...[5m]))` over the 100 series for the last hour at a 1-minute step,
 * through the Prometheus HTTP API of both.
 */
const SERIES = 100;
const STEP_MS = 15_000;
const DAY_MS = 86_400_000;
const RUNS = 20;
const WRITERS = 4;
const end = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
const start = end - DAY_MS;
const times = Array.from({ length: DAY_MS / STEP_MS }, (_, index) => start + (index + 1) * STEP_MS);
const seriesLabels = (series: number) => ({ group: `g${series % 4}`, series: `s${series}` });
const valueAt = (series: number, index: number) => index * (series + 1);
const samplesPerSeries = times.length;
const totalSamples = SERIES * samplesPerSeries;

/** Time slices of 10 series x 100 samples (1,000 samples), each writer taking every fourth slice of the series it owns. */
function batches(): Array<Array<{ series: number; from: number; to: number }>> {
  const perWriter: Array<Array<{ series: number; from: number; to: number }>> = Array.from({ length: WRITERS }, () => []);
  for (let from = 0; from < samplesPerSeries; from += 100) {
    for (let first = 0; first < SERIES; first += 10) perWriter[(first / 10) % WRITERS]?.push({ series: first, from, to: Math.min(from + 100, samplesPerSeries) });
  }
  return perWriter;
}

const remoteBody = (slice: { series: number; from: number; to: number }) =>
  Buffer.from(
    encodeWriteRequest({
      timeseries: Array.from({ length: 10 }, (_, offset): RemoteTimeSeries => {
        const series = slice.series + offset;
        return {
          labels: [{ name: '__name__', value: 'bench_requests_total' }, { name: 'job', value: 'bench' }, ...Object.entries(seriesLabels(series)).map(([name, value]) => ({ name, value }))],
          samples: times.slice(slice.from, slice.to).map((timestamp, index) => ({ timestamp, value: valueAt(series, slice.from + index) })),
        };
      }),
    }),
  );

const jsonBody = (slice: { series: number; from: number; to: number }) =>
  JSON.stringify({
    metrics: Array.from({ length: 10 }, (_, offset) => slice.series + offset).flatMap((series) =>
      times.slice(slice.from, slice.to).map((timestamp, index) => ({ name: 'bench_requests_total', service: 'bench', value: valueAt(series, slice.from + index), labels: seriesLabels(series), timestamp })),
    ),
  });

async function send<T>(bodies: T[][], post: (body: T) => Promise<Response>): Promise<number> {
  const started = performance.now();
  await Promise.all(
    bodies.map(async (shard) => {
      for (const body of shard) {
        const response = await post(body);
        if (!response.ok) throw new Error(`ingest answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
        await response.arrayBuffer();
      }
    }),
  );
  return performance.now() - started;
}

async function p50(url: string, headers: Record<string, string>): Promise<{ p50: number; points: number }> {
  const times: number[] = [];
  let points = 0;
  for (let run = 0; run < RUNS; run += 1) {
    const started = performance.now();
    const response = await fetch(url, { headers });
    const body = (await response.json()) as { status: string; data?: { result?: Array<{ values?: unknown[] }> } };
    times.push(performance.now() - started);
    if (body.status !== 'success') throw new Error(`${url} answered ${JSON.stringify(body).slice(0, 200)}`);
    points = (body.data?.result ?? []).reduce((total, series) => total + (series.values?.length ?? 0), 0);
  }
  return { p50: percentile(times.sort((a, b) => a - b), 50), points };
}

const plan = batches();
const single = `/api/v1/query_range?query=${encodeURIComponent('bench_requests_total{series="s0"}')}&start=${start / 1000}&end=${end / 1000}&step=60`;
const summed = `/api/v1/query_range?query=${encodeURIComponent('sum by (group) (rate(bench_requests_total[5m]))')}&start=${(end - 3_600_000) / 1000}&end=${end / 1000}&step=60`;
const rows: string[] = [];

// Prometheus first: remote write in global time order (its head takes nothing an hour older than its newest sample).
const prometheus = await startPrometheus();
let reference: { single: number; summed: number } | undefined;
try {
  const ordered = plan.flat().sort((a, b) => a.from - b.from || a.series - b.series).map(remoteBody);
  const headers = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
  const ingestMs = await send([ordered], (body) => fetch(`${prometheus.url}/api/v1/write`, { method: 'POST', headers, body }));
  const one = await p50(`${prometheus.url}${single}`, {});
  const sum = await p50(`${prometheus.url}${summed}`, {});
  reference = { single: one.p50, summed: sum.p50 };
  rows.push(`| Prometheus 2.42 | remote write, 1 writer | ${fmt(totalSamples / (ingestMs / 1000), 0)} | - | ${fmt(one.p50, 2)} (${one.points} points) | 1.0 | ${fmt(sum.p50, 2)} (${sum.points} points) | 1.0 |`);
} finally {
  await prometheus.stop();
}

for (const target of targets()) {
  const lifted = { LIMIT_SAMPLES_PER_SECOND: '1000000000', LIMIT_SAMPLES_BURST: '1000000000', LIMIT_REQUESTS_PER_TENANT: '1000000000', LIMIT_REQUESTS_PER_IP: '1000000000', INGEST_MAX_BATCH: '10000' };
  const { app } = await startApp({ ...target.env, ...lifted });
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const pushed = await tokenFor(randomUUID(), ['admin']);
    const jsonMs = await send(plan.map((shard) => shard.map(jsonBody)), (body) => fetch(`${base}/api/v1/monitoring/metrics`, { method: 'POST', headers: { authorization: pushed, 'content-type': 'application/json' }, body }));
    const written = await tokenFor(randomUUID(), ['admin']);
    const headers = { authorization: written, 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy' };
    const remoteMs = await send(plan.map((shard) => shard.map(remoteBody)), (body) => fetch(`${base}/api/v1/write`, { method: 'POST', headers, body }));
    const one = await p50(`${base}${single}`, { authorization: written });
    const sum = await p50(`${base}${summed}`, { authorization: written });
    const jsonRate = totalSamples / (jsonMs / 1000);
    const remoteRate = totalSamples / (remoteMs / 1000);
    rows.push(`| this service on ${target.label} | remote write, ${WRITERS} writers (JSON push: ${fmt(jsonRate, 0)}/s) | ${fmt(remoteRate, 0)} | ${fmt(remoteRate / jsonRate, 2)} | ${fmt(one.p50, 2)} (${one.points} points) | ${fmt(one.p50 / (reference?.single ?? Number.NaN), 1)} | ${fmt(sum.p50, 2)} (${sum.points} points) | ${fmt(sum.p50 / (reference?.summed ?? Number.NaN), 1)} |`);
    process.stdout.write(`${target.label} done\n`);
  } finally {
    await app.close();
  }
}

const body = `${SERIES} counters (4 groups) every 15 s for 24 h: ${totalSamples.toLocaleString('en-US')} samples in batches of 1,000 (10 series x 100 samples). Ingest: Prometheus by remote write in time order from one writer (its head refuses samples an hour older than its newest); the service by JSON push into one tenant and by remote write into another, ${WRITERS} writers each, limits lifted. Queries through the Prometheus HTTP API, p50 of ${RUNS}: \`bench_requests_total{series="s0"}\` over 24 h at a 1-minute step, and \`sum by (group) (rate(bench_requests_total[5m]))\` over the last hour at a 1-minute step. Goals (issue 17): remote write at least 0.5x the JSON push rate; the first query at most 2x Prometheus, the second at most 3x. Load average at the end: ${loadavg().map((value) => value.toFixed(1)).join(', ')}.

| system | ingest | samples/s | vs JSON push | 24 h of one series, ms | vs Prometheus | sum by rate over 100 series, ms | vs Prometheus |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}`;
writeSection('Prometheus HTTP API and remote write beside Prometheus (issue 17)', body);
process.stdout.write(`${body}\n`);
