import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAggregation } from '../../src/metrics/aggregation.job.js';
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
  series_key: string;
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
    tx.query<Rollup>('SELECT series_key, bucket_start, count, sum, min, max, avg, p95 FROM metric_rollups WHERE tenant_id = $1 AND resolution = $2', [tenant, resolution]),
  );
  return result.rows
    .map((row) => ({ key: `${row.series_key.startsWith('load|a') ? 'a' : 'b'}|${row.bucket_start.getTime()}`, count: Number(row.count), sum: row.sum, min: row.min, max: row.max, avg: row.avg, p95: row.p95 }))
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
    expect(['ran', 'skipped-claimed']).toContain(outcome.status);
    if (outcome.status === 'ran') expect((await rollups(tenant, '5m')).map((row) => row.count)).toEqual([1]);
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
});
