import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAggregation } from '../../src/metrics/aggregation.job.js';
import type { Db, Row, Tx } from '../../src/platform/db/index.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  // Ranges above 1 h are answered from rollups here, so the switch is testable on small data.
  t = await createTestApp({ env: { METRICS_RAW_QUERY_MAX_RANGE_MS: '3600000' } });
});
afterAll(async () => t.close());

const HOUR = 3_600_000;
const FIVE_MINUTES = 300_000;

interface Rollup {
  service_name: string;
  bucket_start: Date;
  count: number;
  sum: number;
  min: number;
  max: number;
  avg: number;
  p95: number;
}

/** PostgreSQL's percentile_cont: linear interpolation between the closest ranks. */
function percentileCont(values: number[], fraction: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const position = fraction * (sorted.length - 1);
  const lower = Math.floor(position);
  const upper = Math.ceil(position);
  const low = sorted[lower] ?? Number.NaN;
  const high = sorted[upper] ?? Number.NaN;
  return low + (high - low) * (position - lower);
}

function expected(samples: Array<{ series: string; at: number; value: number }>, bucketMs: number) {
  const groups = new Map<string, number[]>();
  for (const sample of samples) {
    const key = `${sample.series}|${Math.floor(sample.at / bucketMs) * bucketMs}`;
    groups.set(key, [...(groups.get(key) ?? []), sample.value]);
  }
  return [...groups.entries()]
    .map(([key, values]) => {
      const sum = values.reduce((total, value) => total + value, 0);
      return { key, count: values.length, sum, min: Math.min(...values), max: Math.max(...values), avg: sum / values.length, p95: percentileCont(values, 0.95) };
    })
    .sort((a, b) => a.key.localeCompare(b.key));
}

async function rollups(tenant: string, resolution: string) {
  const result = await t.container.db.withTenant(tenant, (tx) =>
    tx.query<Rollup>('SELECT service_name, bucket_start, count, sum, min, max, avg, p95 FROM metric_rollups WHERE tenant_id = $1 AND resolution = $2', [tenant, resolution]),
  );
  return result.rows
    .map((row) => ({ key: `${row.service_name}|${row.bucket_start.getTime()}`, count: Number(row.count), sum: row.sum, min: row.min, max: row.max, avg: row.avg, p95: row.p95 }))
    .sort((a, b) => a.key.localeCompare(b.key));
}

function closeTo(actual: ReturnType<typeof expected>, wanted: ReturnType<typeof expected>) {
  expect(actual.map((row) => row.key)).toEqual(wanted.map((row) => row.key));
  actual.forEach((row, index) => {
    const want = wanted[index];
    for (const field of ['count', 'sum', 'min', 'max', 'avg', 'p95'] as const) expect(row[field]).toBeCloseTo(want?.[field] ?? Number.NaN, 9);
  });
}

/** 2 series, one sample a minute for 2 hours ending 10 minutes ago, deterministic values. */
function makeSamples(now: number) {
  const end = Math.floor((now - 10 * 60_000) / 60_000) * 60_000;
  const samples: Array<{ series: string; at: number; value: number }> = [];
  for (let minute = 0; minute < 120; minute += 1) {
    const at = end - minute * 60_000;
    samples.push({ series: 'a', at, value: (minute * 37) % 101 }, { series: 'b', at, value: Math.sqrt(minute + 1) });
  }
  return samples;
}

async function ingest(tenant: string, samples: Array<{ series: string; at: number; value: number }>) {
  await t.container.ingest.ingest(
    tenant,
    samples.map((sample) => ({ name: 'load', service: sample.series, value: sample.value, timestamp: new Date(sample.at).toISOString() })),
    'internal',
  );
}

async function marksOf(tenant: string): Promise<number> {
  const result = await t.container.db.withTenant(tenant, (tx) => tx.query<{ n: number }>('SELECT count(*)::int AS n FROM metric_rollup_marks WHERE tenant_id = $1', [tenant]));
  return result.rows[0]?.n ?? 0;
}

describe('metric aggregation', () => {
  it('rollups at 5m, 1h and 1d equal the aggregates of the raw samples', async () => {
    const tenant = newTenant();
    const now = Date.now();
    const samples = makeSamples(now);
    await ingest(tenant, samples);
    await runAggregation({ db: t.container.db, logger: t.container.logger, maxMarks: 100_000 }, new Date(now));
    closeTo(await rollups(tenant, '5m'), expected(samples, FIVE_MINUTES));
    closeTo(await rollups(tenant, '1h'), expected(samples, HOUR));
    closeTo(await rollups(tenant, '1d'), expected(samples, 86_400_000));
  });

  it('is idempotent and incremental: a rerun changes nothing, a late sample updates only its buckets', async () => {
    const tenant = newTenant();
    const now = Date.now();
    const samples = makeSamples(now);
    await ingest(tenant, samples);
    const deps = { db: t.container.db, logger: t.container.logger, maxMarks: 100_000 };
    await runAggregation(deps, new Date(now));
    const before = await rollups(tenant, '5m');
    const again = await runAggregation(deps, new Date(now + 1000));
    expect(await rollups(tenant, '5m')).toEqual(before);
    expect(again.marks).toBeGreaterThanOrEqual(0);

    const first = samples.reduce((oldest, sample) => (sample.at < oldest.at ? sample : oldest));
    const late = { series: 'a', at: first.at + 1000, value: 1_000 };
    await ingest(tenant, [late]);
    await runAggregation(deps, new Date(now + 2000));
    const after = await rollups(tenant, '5m');
    const all = [...samples, late];
    closeTo(after, expected(all, FIVE_MINUTES));
    // A recomputed bucket may re-add the same floats in another order: compare values, not their last bits.
    const same = (x: number, y: number | undefined) => y !== undefined && Math.abs(x - y) <= 1e-9 * Math.max(1, Math.abs(x));
    const changed = after.filter((row, index) => {
      const old = before[index];
      return old?.key !== row.key || (['count', 'sum', 'min', 'max', 'avg', 'p95'] as const).some((field) => !same(row[field], old[field]));
    });
    expect(changed.map((row) => row.key)).toEqual([`a|${Math.floor(late.at / FIVE_MINUTES) * FIVE_MINUTES}`]);
    closeTo(await rollups(tenant, '1h'), expected(all, HOUR));
  });

  it('runs as the metric-aggregation job of the scheduler', async () => {
    expect(t.container.scheduler.jobs()).toEqual(expect.arrayContaining(['metric-aggregation', 'cleanup', 'system-collector', 'http-collector', 'database-collector']));
    const tenant = newTenant();
    await ingest(tenant, [{ series: 'a', at: Date.now() - 60_000, value: 4 }]);
    const outcome = await t.container.scheduler.runNow('metric-aggregation');
    expect(outcome.status).toBe('ran');
    expect((await rollups(tenant, '5m')).map((row) => row.count)).toEqual([1]);
  });

  it('long ranges are answered from rollups, short ones from raw samples', async () => {
    const tenant = newTenant();
    const now = Date.now();
    const samples = makeSamples(now);
    await ingest(tenant, samples);
    await runAggregation({ db: t.container.db, logger: t.container.logger, maxMarks: 100_000 }, new Date(now));
    // Stored after the aggregation: raw queries see it, rollup-backed ones do not (yet).
    const lateAt = samples[0]?.at ?? now;
    await ingest(tenant, [{ series: 'a', at: lateAt + 500, value: 10_000 }]);

    const query = async (rangeMs: number, intervalMs: number) => {
      const response = await t.app.inject({
        method: 'POST',
        url: '/grafana/query',
        headers: { ...(await bearer(tenant, ['viewer'])), 'content-type': 'application/json' },
        payload: JSON.stringify({
          range: { from: new Date(now - rangeMs).toISOString(), to: new Date(now).toISOString() },
          intervalMs,
          maxDataPoints: 10_000,
          targets: [{ target: 'load', refId: 'A', payload: { match: ['service="a"'], aggregation: 'max' } }],
        }),
      });
      expect(response.statusCode).toBe(200);
      return response.json<Array<{ datapoints: Array<[number, number]> }>>()[0]?.datapoints ?? [];
    };
    const long = await query(3 * HOUR, FIVE_MINUTES);
    const fromRollups = expected(samples.filter((sample) => sample.series === 'a' && sample.at >= now - 3 * HOUR), FIVE_MINUTES);
    expect(long.map(([value]) => value)).toEqual(fromRollups.map((row) => row.max));
    const short = await query(HOUR - 1, FIVE_MINUTES);
    expect(Math.max(...short.map(([value]) => value))).toBe(10_000);
  });

  it('reads at most maxMarks marks a run: the rest wait for the next run', async () => {
    const tenant = newTenant();
    const now = Date.now();
    const at = Math.floor((now - 15 * 60_000) / FIVE_MINUTES) * FIVE_MINUTES;
    const samples = [0, 1, 2].map((series) => ({ series: `m${series}`, at: at + series, value: series }));
    const deps = { db: t.container.db, logger: t.container.logger, maxMarks: 1 };
    await runAggregation({ ...deps, maxMarks: 100_000 }, new Date(now)); // marks left by earlier tests
    for (const sample of samples) await ingest(tenant, [sample]);
    const first = await runAggregation(deps, new Date(now));
    expect(first.marks).toBe(1);
    expect(await marksOf(tenant)).toBe(2);
    await runAggregation(deps, new Date(now));
    await runAggregation(deps, new Date(now));
    expect(await marksOf(tenant)).toBe(0);
    closeTo(await rollups(tenant, '5m'), expected(samples, FIVE_MINUTES));
  });

  it('more series in one bucket than one unit may read: every series is rolled up, unit by unit, equal to the raw aggregates', async () => {
    const tenant = newTenant();
    const now = Date.now();
    const bucket = Math.floor((now - 15 * 60_000) / FIVE_MINUTES) * FIVE_MINUTES;
    const samples = Array.from({ length: 30 }, (_, series) => Array.from({ length: 4 }, (_, n) => ({ series: `s${series}`, at: bucket + n * 60_000 + series, value: (series * 13 + n * 7) % 17 }))).flat();
    await ingest(tenant, samples);
    const outcome = await runAggregation({ db: t.container.db, logger: t.container.logger, maxMarks: 100_000, unitSamples: 250 }, new Date(now));
    // At this bound each unit holds one series-hour (its 5m and 1h rows), then two series of the day.
    expect(outcome.units).toBeGreaterThanOrEqual(30 + 15);
    expect(outcome.failed).toBe(0);
    closeTo(await rollups(tenant, '5m'), expected(samples, FIVE_MINUTES));
    closeTo(await rollups(tenant, '1h'), expected(samples, HOUR));
    closeTo(await rollups(tenant, '1d'), expected(samples, 86_400_000));
    expect(await marksOf(tenant)).toBe(0);
  });

  it("a unit that fails holds back only its own series (one failure stopped every tenant's rollups): its marks stay for the next run", async () => {
    const poisoned = newTenant();
    const healthy = newTenant();
    const now = Date.now();
    const at = now - 20 * 60_000;
    const bad = [
      { series: 'a', at, value: 1 },
      { series: 'a', at: at + 1_000, value: 2 },
    ];
    // A sound series of the same tenant and bucket, planned in the same unit as the bad one.
    const sound = [{ series: 'b', at: at + 2_000, value: 3 }];
    await ingest(poisoned, [...bad, ...sound]);
    const samples = makeSamples(now);
    await ingest(healthy, samples);
    const logger = t.container.logger;
    const outcome = await runAggregation({ db: failingRollups(t.container.db, poisoned, 'load|a|{}'), logger, maxMarks: 100_000 }, new Date(now));
    expect(outcome.failed).toBe(1);
    expect(outcome.failedTenants).toEqual([poisoned]);
    closeTo(await rollups(healthy, '5m'), expected(samples, FIVE_MINUTES));
    closeTo(await rollups(healthy, '1h'), expected(samples, HOUR));
    closeTo(await rollups(healthy, '1d'), expected(samples, 86_400_000));
    // Retried alone, the sound series is rolled up; only the bad one keeps its mark.
    closeTo(await rollups(poisoned, '5m'), expected(sound, FIVE_MINUTES));
    closeTo(await rollups(poisoned, '1d'), expected(sound, 86_400_000));
    const marks = await t.container.db.withTenant(poisoned, (tx) => tx.query<{ series_key: string }>('SELECT series_key FROM metric_rollup_marks WHERE tenant_id = $1', [poisoned]));
    expect(marks.rows.map((row) => row.series_key)).toEqual(['load|a|{}']);

    // The next run, with the fault gone, consumes the mark.
    const retried = await runAggregation({ db: t.container.db, logger, maxMarks: 100_000 }, new Date(now + 1_000));
    expect(retried.failedTenants).not.toContain(poisoned);
    expect(await marksOf(poisoned)).toBe(0);
    closeTo(await rollups(poisoned, '5m'), expected([...bad, ...sound], FIVE_MINUTES));
  });
});

/**
 * The app's database, except that every statement writing rollups of one tenant's series fails,
 * as a row the database refuses would make it. (Two samples of 1e308 did, by overflowing the
 * float8 sum, until sums stopped raising; no other sample ingest accepts makes the SQL fail.)
 */
function failingRollups(db: Db, tenantId: string, seriesKey: string): Db {
  const failing = (tx: Tx): Tx => ({
    query: <R extends object = Row>(sql: string, params?: readonly unknown[]) => {
      const series = params?.[2];
      if (sql.includes('INSERT INTO metric_rollups') && Array.isArray(series) && series.includes(seriesKey)) return Promise.reject(new Error(`injected failure for ${seriesKey}`));
      return tx.query<R>(sql, params);
    },
  });
  return { ...db, withTenant: (id, work) => db.withTenant(id, (tx) => work(id === tenantId ? failing(tx) : tx)) };
}
