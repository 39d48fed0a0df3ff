import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fmt, startApp, targets, tokenFor } from './metrics-support.js';
import { percentile, writeSection } from './results.js';

/**
 * The metric store beside the system users would otherwise pick, same workload in the same run:
 * SAMPLES samples of SERIES series one second apart, batches of 1,000, 4 concurrent writers; then
 * one series over the whole range at a 1-minute step, RUNS times. This service takes the batches as
 * JSON on POST /api/v1/monitoring/metrics and answers the query on POST /grafana/query (limits
 * lifted: throughput, not fairness); VictoriaMetrics (Debian's package, private port and data
 * directory) takes the same samples as Prometheus text on /api/v1/import/prometheus and answers
 * /api/v1/query_range. Prometheus itself is not in this run: it takes pushed samples only by
 * remote write (snappy-compressed protobuf), which this project has no client for yet (issue 14).
 */
const SAMPLES = Number(process.env['STORE_SAMPLES'] ?? 200_000);
const SERIES = 50;
const BATCH = 1_000;
const WRITERS = 4;
const RUNS = 30;
const start = Math.floor(Date.now() / 1000) * 1000 - (SAMPLES / SERIES) * 1000 - 60_000;

interface Sample {
  series: number;
  at: number;
  value: number;
}

const batches: Sample[][] = [];
for (let first = 0; first < SAMPLES; first += BATCH) {
  batches.push(Array.from({ length: Math.min(BATCH, SAMPLES - first) }, (_, offset) => {
    const index = first + offset;
    return { series: index % SERIES, at: start + Math.floor(index / SERIES) * 1000, value: index % 997 };
  }));
}

async function inParallel(work: (batch: Sample[]) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: WRITERS }, async () => {
    for (let batch = batches[next++]; batch !== undefined; batch = batches[next++]) await work(batch);
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
  return times.sort((a, b) => a - b);
}

async function ok(response: Response, what: string): Promise<void> {
  if (!response.ok) throw new Error(`${what} answered ${response.status}: ${(await response.text()).slice(0, 200)}`);
  await response.arrayBuffer();
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

async function victoriaMetrics(): Promise<{ ingestMs: number; query: number[]; points: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'vm-bench-'));
  const port = await freePort();
  const child = spawn('victoria-metrics', [`-storageDataPath=${dir}`, `-httpListenAddr=127.0.0.1:${port}`, '-search.latencyOffset=0s', '-retentionPeriod=100y'], { stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  try {
    for (let attempt = 0; attempt < 100; attempt += 1) {
      if ((await fetch(`${base}/health`).catch(() => undefined))?.ok === true) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const ingestMs = await inParallel(async (batch) => {
      const body = batch.map((sample) => `bench_store{series="s${sample.series}",service="bench"} ${sample.value} ${sample.at}`).join('\n');
      await ok(await fetch(`${base}/api/v1/import/prometheus`, { method: 'POST', body }), 'VictoriaMetrics import');
    });
    await ok(await fetch(`${base}/internal/force_flush`), 'VictoriaMetrics flush');
    const end = start + (SAMPLES / SERIES) * 1000;
    const url = `${base}/api/v1/query_range?query=${encodeURIComponent('bench_store{series="s0"}')}&start=${start / 1000}&end=${end / 1000}&step=60s`;
    const query = await timeQueries(async () => ok(await fetch(url), 'VictoriaMetrics query_range'));
    const answer = (await (await fetch(url)).json()) as { data?: { result?: Array<{ values?: unknown[] }> } };
    return { ingestMs, query, points: answer.data?.result?.[0]?.values?.length ?? 0 };
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

async function service(env: Record<string, string>): Promise<{ ingestMs: number; query: number[]; points: number }> {
  const lifted = { LIMIT_SAMPLES_PER_SECOND: '1000000000', LIMIT_SAMPLES_BURST: '1000000000', LIMIT_REQUESTS_PER_TENANT: '1000000000', LIMIT_REQUESTS_PER_IP: '1000000000', LIMIT_CONCURRENT_REQUESTS_PER_TENANT: '64' };
  const { app } = await startApp({ ...env, ...lifted });
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const base = `http://127.0.0.1:${port}`;
    const authorization = await tokenFor(randomUUID(), ['admin']);
    const headers = { authorization, 'content-type': 'application/json' };
    const ingestMs = await inParallel(async (batch) => {
      const metrics = batch.map((sample) => ({ name: 'bench_store', service: 'bench', value: sample.value, labels: { series: `s${sample.series}` }, timestamp: new Date(sample.at).toISOString() }));
      await ok(await fetch(`${base}/api/v1/monitoring/metrics`, { method: 'POST', headers, body: JSON.stringify({ metrics }) }), 'POST /metrics');
    });
    const end = start + (SAMPLES / SERIES) * 1000;
    const body = JSON.stringify({
      range: { from: new Date(start).toISOString(), to: new Date(end).toISOString() },
      intervalMs: 60_000,
      maxDataPoints: 10_000,
      targets: [{ target: 'bench_store', refId: 'A', type: 'timeserie', payload: { match: ['series="s0"'] } }],
    });
    const query = await timeQueries(async () => ok(await fetch(`${base}/grafana/query`, { method: 'POST', headers, body }), 'POST /grafana/query'));
    const answer = (await (await fetch(`${base}/grafana/query`, { method: 'POST', headers, body })).json()) as Array<{ datapoints?: unknown[] }>;
    return { ingestMs, query, points: answer[0]?.datapoints?.length ?? 0 };
  } finally {
    await app.close();
  }
}

const rows: string[] = [];
const vm = await victoriaMetrics();
const vmRate = SAMPLES / (vm.ingestMs / 1000);
const vmP50 = percentile(vm.query, 50);
rows.push(`| VictoriaMetrics 1.79 (text import) | ${fmt(vmRate, 0)} | 1.00 | ${fmt(vmP50, 2)} | 1.0 | ${vm.points} |`);
for (const target of targets()) {
  const result = await service(target.env);
  const rate = SAMPLES / (result.ingestMs / 1000);
  const p50 = percentile(result.query, 50);
  rows.push(`| this service on ${target.label} (JSON push) | ${fmt(rate, 0)} | ${fmt(rate / vmRate, 3)} | ${fmt(p50, 2)} | ${fmt(p50 / vmP50, 1)} | ${result.points} |`);
  process.stdout.write(`${target.label} done\n`);
}

const body = `${SAMPLES.toLocaleString('en-US')} samples of ${SERIES} series one second apart, batches of ${BATCH.toLocaleString('en-US')}, ${WRITERS} concurrent writers over loopback HTTP; then one series over the whole range at a 1-minute step, ${RUNS} runs (this service: \`POST /grafana/query\` with a label matcher; VictoriaMetrics: \`/api/v1/query_range\`). Same samples, same run. Prometheus is not in this run: it accepts pushed samples only by remote write (snappy protobuf), for which the project has no client yet; issue 14 adds remote_write. Load average at the end: ${loadavg().map((value) => value.toFixed(1)).join(', ')}.

| system | ingest samples/s | ingest vs VictoriaMetrics | query p50 ms | query vs VictoriaMetrics | points answered |
|---|---|---|---|---|---|
${rows.join('\n')}`;
writeSection('Metric store beside VictoriaMetrics (same workload, same run)', body);
process.stdout.write(`${body}\n`);
