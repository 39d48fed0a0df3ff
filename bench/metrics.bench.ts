import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Counter, Registry } from 'prom-client';
import { seriesKeyOf } from '../src/metrics/index.js';
import { percentile, writeSection } from './results.js';
import { fmt, startApp, targets, tokenFor } from './metrics-support.js';

/**
 * 1. Ingest through `POST /api/v1/monitoring/metrics` on a listening server (batches of 1,000,
 *    4 concurrent clients) against the baseline: the same rows bulk-inserted by 4 concurrent
 *    writers straight into `metrics` with one `INSERT ... SELECT FROM unnest` per batch, as the
 *    application role under the same RLS. Goal: ratio >= 0.5.
 * 2. `/metrics` render time with 10,000 catalogue series, against prom-client rendering the
 *    same 10,000 series from a bare registry.
 */
const BATCH = 1_000;
const CLIENTS = 4;

function makeBatches(count: number) {
  const now = Date.now();
  return Array.from({ length: count }, (_, batch) =>
    Array.from({ length: BATCH }, (_, index) => ({
      name: 'bench_ingest',
      service: `svc-${index % 10}`,
      value: (batch * BATCH + index) % 997,
      labels: { host: `h${index % 50}`, region: index % 2 === 0 ? 'eu' : 'us' },
      timestamp: new Date(now - ((batch * BATCH + index) % 3_000_000)).toISOString(),
    })),
  );
}

async function inParallel<T>(items: readonly T[], workers: number, work: (item: T) => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < items.length) {
        const item = items[next];
        next += 1;
        if (item !== undefined) await work(item);
      }
    }),
  );
  return performance.now() - started;
}

type Batch = ReturnType<typeof makeBatches>[number];

/** Throughput is measured with the tenant limits out of the way (bench/noisy-neighbour.bench.ts measures them). */
const LIMITS_LIFTED = { LIMIT_SAMPLES_PER_SECOND: '1000000000', LIMIT_SAMPLES_BURST: '1000000000', LIMIT_REQUESTS_PER_TENANT: '1000000000', LIMIT_REQUESTS_PER_IP: '1000000000' };

async function ingestBench(env: Record<string, string>, batchCount: number) {
  const { app, container } = await startApp({ ...env, ...LIMITS_LIFTED });
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}/api/v1/monitoring/metrics`;
    const rawInsert = async (tenantId: string, batch: Batch) => {
      await container.db.withTenant(tenantId, (tx) =>
        tx.query(
          `INSERT INTO metrics (tenant_id, metric_name, service_name, series_key, value, labels, "timestamp")
           SELECT $1::uuid, name, service, series, value, labels, at
           FROM unnest($2::text[], $3::text[], $4::text[], $5::float8[], $6::jsonb[], $7::timestamptz[]) AS s(name, service, series, value, labels, at)`,
          [
            tenantId,
            batch.map((sample) => sample.name),
            batch.map((sample) => sample.service),
            batch.map((sample) => seriesKeyOf(sample.name, sample.service, sample.labels)),
            batch.map((sample) => sample.value),
            batch.map((sample) => JSON.stringify(sample.labels)),
            batch.map((sample) => sample.timestamp),
          ],
        ),
      );
    };
    // The baseline writes straight to the table: its partitions must exist (ingest creates them itself).
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    await container.db.asSystem((tx) => tx.query('SELECT ensure_metrics_partitions($1::date, $2::date)', [day(-1), day(0)]));
    // Warm up both paths (partitions, JIT, connections) outside the measurement.
    const warmTenant = randomUUID();
    const warm = makeBatches(2);
    const warmToken = await tokenFor(warmTenant, ['monitoring']);
    for (const batch of warm) {
      await rawInsert(warmTenant, batch);
      await fetch(url, { method: 'POST', headers: { authorization: warmToken, 'content-type': 'application/json' }, body: JSON.stringify({ metrics: batch }) });
    }

    const rounds = [];
    for (let round = 0; round < 2; round += 1) {
      const batches = makeBatches(batchCount);
      const bodies = batches.map((batch) => JSON.stringify({ metrics: batch }));
      const rawTenant = randomUUID();
      const rawMs = await inParallel(batches, CLIENTS, (batch) => rawInsert(rawTenant, batch));
      const postTenant = randomUUID();
      const token = await tokenFor(postTenant, ['monitoring']);
      const postMs = await inParallel(bodies, CLIENTS, async (body) => {
        const response = await fetch(url, { method: 'POST', headers: { authorization: token, 'content-type': 'application/json' }, body });
        if (response.status !== 202) throw new Error(`POST answered ${response.status}: ${await response.text()}`);
      });
      const stored = await container.db.withTenant(postTenant, (tx) => tx.query<{ n: number }>('SELECT count(*)::int AS n FROM metrics WHERE tenant_id = $1', [postTenant]));
      if (stored.rows[0]?.n !== batchCount * BATCH) throw new Error('not every posted row was stored');
      rounds.push({ rawRate: (batchCount * BATCH) / (rawMs / 1000), postRate: (batchCount * BATCH) / (postMs / 1000) });
    }
    const rawRate = rounds.reduce((sum, round) => sum + round.rawRate, 0) / rounds.length;
    const postRate = rounds.reduce((sum, round) => sum + round.postRate, 0) / rounds.length;
    return { rawRate, postRate, rows: batchCount * BATCH * rounds.length };
  } finally {
    await app.close();
  }
}

async function renderBench(env: Record<string, string>) {
  const { app, container } = await startApp(env);
  try {
    for (let index = 0; index < 10_000; index += 1) {
      container.catalogue.ticketsSoldTotal.inc({ venue_id: `venue-${index % 100}`, event_id: `event-${index}`, ticket_type: index % 2 === 0 ? 'standard' : 'vip' }, 1);
    }
    const bare = new Registry();
    const counter = new Counter({ name: 'tickets_sold_total', help: 'Total tickets sold', labelNames: ['venue_id', 'event_id', 'ticket_type'], registers: [bare] });
    for (let index = 0; index < 10_000; index += 1) counter.inc({ venue_id: `venue-${index % 100}`, event_id: `event-${index}`, ticket_type: index % 2 === 0 ? 'standard' : 'vip' }, 1);

    const time = async (work: () => Promise<unknown>) => {
      for (let warm = 0; warm < 3; warm += 1) await work();
      const samples: number[] = [];
      for (let run = 0; run < 30; run += 1) {
        const started = performance.now();
        await work();
        samples.push(performance.now() - started);
      }
      return samples.sort((a, b) => a - b);
    };
    let bytes = 0;
    const endpoint = await time(async () => {
      const response = await app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' });
      if (response.statusCode !== 200) throw new Error(`/metrics answered ${response.statusCode}`);
      bytes = response.body.length;
    });
    const baseline = await time(() => bare.metrics());
    return { endpoint, baseline, bytes };
  } finally {
    await app.close();
  }
}

const lines: string[] = [];
lines.push(
  '### Ingest throughput',
  '',
  `Batches of ${BATCH.toLocaleString('en-US')} samples, ${CLIENTS} concurrent clients, two rounds averaged. POST = JSON over a listening HTTP server (auth, schema, validation, bulk insert, rollup marks, bus publish). Baseline = the same rows bulk-inserted into \`metrics\` by ${CLIENTS} concurrent writers, one \`INSERT ... SELECT FROM unnest\` per batch, as the application role under the same forced RLS. Goal: ratio >= 0.5.`,
  '',
  '| database | rows | baseline rows/s | POST rows/s | ratio |',
  '|---|---|---|---|---|',
);
for (const target of targets()) {
  const batches = target.label === 'PostgreSQL' ? 100 : 50;
  const result = await ingestBench(target.env, batches);
  lines.push(`| ${target.label} | ${result.rows.toLocaleString('en-US')} | ${fmt(result.rawRate, 0)} | ${fmt(result.postRate, 0)} | ${fmt(result.postRate / result.rawRate, 2)} |`);
  process.stdout.write(`${lines[lines.length - 1] ?? ''}\n`);
}
lines.push('', '### /metrics render with 10,000 series', '', 'GET /metrics (in-process inject, through the IP guard) with 10,000 `tickets_sold_total` series plus the default process metrics and the rest of the catalogue, 30 runs; baseline = prom-client rendering the same 10,000 series from a bare registry.', '', '| database | body | /metrics p50 ms | p95 ms | baseline p50 ms | p95 ms |', '|---|---|---|---|---|---|');
for (const target of targets()) {
  const result = await renderBench(target.env);
  lines.push(`| ${target.label} | ${(result.bytes / 1024).toFixed(0)} KiB | ${fmt(percentile(result.endpoint, 50), 1)} | ${fmt(percentile(result.endpoint, 95), 1)} | ${fmt(percentile(result.baseline, 50), 1)} | ${fmt(percentile(result.baseline, 95), 1)} |`);
  process.stdout.write(`${lines[lines.length - 1] ?? ''}\n`);
}
writeSection('Metrics: ingest and /metrics', lines.join('\n'));
