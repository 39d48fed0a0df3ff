import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runAggregation } from '../../../src/metrics/aggregation.job.js';
import { runCompaction } from '../../../src/metrics/compaction.job.js';
import type { Row } from '../../../src/platform/db/index.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../../support/app.js';
import { failTenant } from '../../support/tenant-faults.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());
const undo: Array<() => void> = [];
afterEach(() => undo.splice(0).forEach((restore) => restore()));

const MINUTE = 60_000;
const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();
/** A UTC day that closed long enough ago to be compacted now, and the partition holding it. */
const dayStart = (daysAgo: number) => Math.floor(Date.now() / DAY) * DAY - daysAgo * DAY;
const headPartition = (day: number) => `metric_head_${iso(day).slice(0, 10).replaceAll('-', '')}`;

interface Pushed {
  name: string;
  service: string;
  value: number;
  labels?: Record<string, string>;
  timestamp: string;
}

async function push(tenant: string, metrics: Pushed[]) {
  const response = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers: { ...(await bearer(tenant, ['monitoring'])), 'content-type': 'application/json' }, payload: JSON.stringify({ metrics }) });
  expect(response.statusCode).toBe(202);
}

/** Every sample of a name in [from, to], as the raw read API pages them (ids left out: compaction renumbers them). */
async function readAll(tenant: string, name: string, from: number, to: number) {
  const rows: Array<{ metric_name: string; service_name: string; value: number; labels: Record<string, string>; timestamp: string }> = [];
  let cursor: string | null | undefined;
  do {
    const query = new URLSearchParams({ name, from: iso(from), to: iso(to), limit: '1000', ...(cursor ? { cursor } : {}) });
    const response = await t.app.inject({ method: 'GET', url: `/api/v1/monitoring/metrics?${query.toString()}`, headers: await bearer(tenant, ['viewer']) });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ data: Array<(typeof rows)[number] & { id: number }>; next_cursor?: string | null }>();
    rows.push(...body.data.map(({ id: _id, ...rest }) => rest));
    cursor = body.next_cursor;
  } while (cursor);
  return rows;
}

async function grafana(tenant: string, target: string, from: number, to: number) {
  const response = await t.app.inject({
    method: 'POST',
    url: '/grafana/query',
    headers: { ...(await bearer(tenant, ['viewer'])), 'content-type': 'application/json' },
    payload: JSON.stringify({ range: { from: iso(from), to: iso(to), raw: { from: iso(from), to: iso(to) } }, intervalMs: 5 * MINUTE, maxDataPoints: 1000, targets: [{ target, refId: 'A', type: 'timeserie' }] }),
  });
  expect(response.statusCode).toBe(200);
  return response.json<unknown>();
}

async function system<R extends Row>(sql: string, params: unknown[] = []): Promise<R[]> {
  return (await t.container.db.asSystem((tx) => tx.query<R>(sql, params))).rows;
}

const chunksOf = (tenant: string) =>
  t.container.db.withTenant(tenant, async (tx) =>
    (
      await tx.query<{ metric_name: string; samples: number; step_ms: number | null; offsets: number | null }>(
        `SELECT s.metric_name, c.samples, c.step_ms, cardinality(c.deltas_ms) AS offsets
         FROM metric_chunks c JOIN metric_series s ON s.tenant_id = c.tenant_id AND s.id = c.series_id
         WHERE c.tenant_id = $1 ORDER BY s.metric_name, c.start_time`,
        [tenant],
      )
    ).rows,
  );

const partitionExists = async (name: string) => (await system<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [name]))[0]?.present === true;

describe('compaction of closed days into chunks', () => {
  it('moves a closed day into one chunk per series; the raw API and Grafana answer exactly as before, and the day partition is dropped', async () => {
    const tenant = newTenant();
    const other = newTenant();
    const day = dayStart(3);
    const from = day + 10 * 60 * MINUTE;
    // Regular (one per minute), irregular (two samples at one instant, arrival order kept) and labelled.
    const regular = Array.from({ length: 120 }, (_, i) => ({ name: 'orders_total', service: 'checkout', value: i * 1.5, timestamp: iso(from + i * MINUTE) }));
    const irregularOffsets = [0, 7_001, 7_001, 19_250, 60_000, 61_999, 3_600_000, 3_600_001];
    const irregular = irregularOffsets.map((offset, i) => ({ name: 'latency_ms', service: 'payment', value: [12.5, -3, 0.1, 1e300, 7, -0, 42, 5e-324][i] ?? 0, labels: { route: '/pay' }, timestamp: iso(from + offset) }));
    await push(tenant, [...regular, ...irregular]);
    await push(other, [{ name: 'orders_total', service: 'checkout', value: 99, timestamp: iso(from) }]);

    const end = from + 2 * 60 * MINUTE;
    const before = { orders: await readAll(tenant, 'orders_total', day, end), latency: await readAll(tenant, 'latency_ms', day, end), chart: await grafana(tenant, 'orders_total', from, end) };
    expect(before.orders).toHaveLength(120);
    // Newest first; of the two samples at one instant, the later arrival first.
    expect(before.latency.map((row) => row.value)).toEqual([5e-324, 42, 0, 7, 1e300, 0.1, -3, 12.5]);

    const outcome = await runCompaction({ db: t.container.db, logger: t.container.logger, delayMs: 60 * MINUTE }, new Date());
    expect(outcome.failed).toBe(0);
    expect(outcome.samples).toBeGreaterThanOrEqual(129);
    expect(await partitionExists(headPartition(day))).toBe(false);
    expect(await chunksOf(tenant)).toEqual([
      { metric_name: 'latency_ms', samples: 8, step_ms: null, offsets: 8 },
      { metric_name: 'orders_total', samples: 120, step_ms: MINUTE, offsets: null },
    ]);
    // The other tenant's day became its own chunk, invisible here.
    expect(await chunksOf(other)).toEqual([{ metric_name: 'orders_total', samples: 1, step_ms: 0, offsets: null }]);

    expect(await readAll(tenant, 'orders_total', day, end)).toEqual(before.orders);
    const latencyAfter = await readAll(tenant, 'latency_ms', day, end);
    expect(latencyAfter).toEqual(before.latency);
    // Rollups computed after the compaction read the irregular chunk: the push's marks are still pending.
    await runAggregation({ db: t.container.db, logger: t.container.logger, maxMarks: 100_000 }, new Date());
    const latencyRollups = await t.container.db.withTenant(tenant, async (tx) =>
      (
        await tx.query<{ bucket_start: Date; count: number }>("SELECT bucket_start, count FROM metric_rollups WHERE tenant_id = $1 AND resolution = '5m' AND metric_name = 'latency_ms' ORDER BY bucket_start", [tenant])
      ).rows.map((row) => [row.bucket_start.getTime() - from, Number(row.count)]),
    );
    expect(latencyRollups).toEqual([
      [0, 6],
      [60 * MINUTE, 2],
    ]);
    // The smallest subnormal and the largest doubles survive the chunk exactly.
    expect(latencyAfter.map((row) => row.value)).toContain(5e-324);
    expect(await grafana(tenant, 'orders_total', from, end)).toEqual(before.chart);
    // A window inside a chunk reads exactly what it covers, both ends included.
    expect((await readAll(tenant, 'latency_ms', from + 7_001, from + 61_999)).map((row) => row.value)).toEqual([0, 7, 1e300, 0.1, -3]);
    expect(await readAll(tenant, 'orders_total', from + 10 * MINUTE, from + 19 * MINUTE)).toEqual(before.orders.filter((row) => Date.parse(row.timestamp) >= from + 10 * MINUTE && Date.parse(row.timestamp) <= from + 19 * MINUTE));
  });

  it('a series with more samples than a unit is compacted in slices of at most a unit, each its own chunk; answers unchanged', async () => {
    const tenant = newTenant();
    const day = dayStart(6);
    const from = day + 8 * 60 * MINUTE;
    await push(tenant, Array.from({ length: 50 }, (_, i) => ({ name: 'requests_total', service: 'edge', value: i * 2, timestamp: iso(from + i * MINUTE) })));
    const before = await readAll(tenant, 'requests_total', day, day + DAY - 1);
    const outcome = await runCompaction({ db: t.container.db, logger: t.container.logger, delayMs: 0, unitSamples: 20 }, new Date());
    expect(outcome.failed).toBe(0);
    expect(await chunksOf(tenant)).toEqual([20, 20, 10].map((samples) => ({ metric_name: 'requests_total', samples, step_ms: MINUTE, offsets: null })));
    expect(await readAll(tenant, 'requests_total', day, day + DAY - 1)).toEqual(before);
    expect(before).toHaveLength(50);
  });

  it('a late sample of a compacted day is stored (the partition comes back) and becomes a second chunk', async () => {
    const tenant = newTenant();
    const day = dayStart(4);
    const at = day + 5 * 60 * MINUTE;
    await push(tenant, [0, 1, 2].map((i) => ({ name: 'queue_depth', service: 'mint', value: i, timestamp: iso(at + i * MINUTE) })));
    await runCompaction({ db: t.container.db, logger: t.container.logger, delayMs: 0 }, new Date());
    expect(await partitionExists(headPartition(day))).toBe(false);

    // This instance remembers the day's partition: the insert fails once, the day is created again.
    await push(tenant, [{ name: 'queue_depth', service: 'mint', value: 10, timestamp: iso(at + 3 * MINUTE) }]);
    // The late sample's 5-minute bucket is rolled up again from the chunk and the head together.
    await runAggregation({ db: t.container.db, logger: t.container.logger, maxMarks: 100_000 }, new Date());
    const rollup = await t.container.db.withTenant(tenant, async (tx) =>
      (await tx.query<{ count: number; sum: number }>("SELECT count, sum FROM metric_rollups WHERE tenant_id = $1 AND resolution = '5m' AND bucket_start = $2", [tenant, new Date(at)])).rows.map((row) => ({ count: Number(row.count), sum: row.sum })),
    );
    expect(rollup).toEqual([{ count: 4, sum: 13 }]);
    expect((await readAll(tenant, 'queue_depth', day, day + DAY - 1)).map((row) => row.value)).toEqual([10, 2, 1, 0]);

    await runCompaction({ db: t.container.db, logger: t.container.logger, delayMs: 0 }, new Date());
    expect(await chunksOf(tenant)).toEqual([
      { metric_name: 'queue_depth', samples: 3, step_ms: MINUTE, offsets: null },
      { metric_name: 'queue_depth', samples: 1, step_ms: 0, offsets: null },
    ]);
    expect((await readAll(tenant, 'queue_depth', day, day + DAY - 1)).map((row) => row.value)).toEqual([10, 2, 1, 0]);
  });

  it('a tenant whose compaction fails keeps its samples in the head; the other tenants are compacted; the next run finishes it', async () => {
    const failing = newTenant();
    const healthy = newTenant();
    const day = dayStart(5);
    for (const tenant of [failing, healthy]) await push(tenant, [{ name: 'cpu_pct', service: 'api', value: 50, timestamp: iso(day + MINUTE) }]);
    undo.push(failTenant(t.container.db, failing, (sql) => sql.includes('INSERT INTO metric_chunks')));

    const failed = await runCompaction({ db: t.container.db, logger: t.container.logger, delayMs: 0 }, new Date());
    expect(failed.failed).toBe(1);
    expect(await chunksOf(healthy)).toHaveLength(1);
    expect(await chunksOf(failing)).toHaveLength(0);
    expect(await partitionExists(headPartition(day))).toBe(true);
    expect((await readAll(failing, 'cpu_pct', day, day + DAY - 1)).map((row) => row.value)).toEqual([50]);

    undo.pop()?.();
    const retried = await runCompaction({ db: t.container.db, logger: t.container.logger, delayMs: 0 }, new Date());
    expect(retried.failed).toBe(0);
    expect(await chunksOf(failing)).toHaveLength(1);
    expect(await partitionExists(headPartition(day))).toBe(false);
    expect((await readAll(failing, 'cpu_pct', day, day + DAY - 1)).map((row) => row.value)).toEqual([50]);
  });

  it('leaves today and a day closed less than the delay ago in the head; runs as the metric-compaction job, counted on /metrics', async () => {
    const tenant = newTenant();
    const today = dayStart(0);
    await push(tenant, [{ name: 'in_head', service: 'api', value: 1, timestamp: iso(Date.now() - MINUTE) }]);
    // A closed day whose compaction fails: the job reports it, and /metrics shows the day waiting.
    const failing = newTenant();
    await push(failing, [{ name: 'stuck', service: 'api', value: 1, timestamp: iso(dayStart(8) + MINUTE) }]);
    undo.push(failTenant(t.container.db, failing, (sql) => sql.includes('INSERT INTO metric_chunks')));
    expect(t.container.scheduler.jobs()).toContain('metric-compaction');
    const outcome = await t.container.scheduler.runNow('metric-compaction');
    expect(outcome.status).toBe('ran');
    expect(outcome.unitFailures).toBe(1);
    const scrape = async () => (await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).body;
    expect(await scrape()).toMatch(/^monitoring_metric_head_closed_partitions 1$/m);

    undo.pop()?.();
    expect((await t.container.scheduler.runManually('metric-compaction')).status).toBe('ran');
    const body = await scrape();
    expect(body).toMatch(/^monitoring_metric_head_closed_partitions 0$/m);
    expect(Number(/^monitoring_metric_compaction_samples_total (\d+)$/m.exec(body)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/^monitoring_metric_compaction_chunks_total (\d+)$/m.exec(body)?.[1])).toBeGreaterThanOrEqual(1);

    // Yesterday closed less than a day ago: with a delay of a day it stays in the head.
    const yesterdayOnly = await runCompaction({ db: t.container.db, logger: t.container.logger, delayMs: DAY }, new Date());
    expect(yesterdayOnly.days).toBe(0);
    expect(await partitionExists(headPartition(today))).toBe(true);
    expect(await chunksOf(tenant)).toHaveLength(0);
  });
});
