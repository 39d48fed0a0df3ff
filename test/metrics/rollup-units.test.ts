import { describe, expect, it } from 'vitest';
import { packWithin, planBucketUnits, planDayUnits, ROW_COST, splitBucketUnit } from '../../src/metrics/rollup-units.js';
import type { MarkedSeriesBucket } from '../../src/metrics/rollups.repository.js';

const HOUR = 3_600_000;
const FIVE_MINUTES = 300_000;
const base = Date.UTC(2026, 0, 1, 23);

function mark(tenantId: string, bucketMs: number, seriesKey: string, marked: number): MarkedSeriesBucket {
  return { tenantId, bucketStart: new Date(bucketMs), seriesKey, marked, known5m: 0, known1h: 0 };
}

const rowKey = (tenantId: string, row: { bucketStart: Date; seriesKey: string }) => `${tenantId}|${row.bucketStart.toISOString()}|${row.seriesKey}`;

describe('rollup units', () => {
  it('packs consecutive items within the budget; an item above it is a pack alone', () => {
    expect(packWithin([3, 4, 5, 20, 1, 1], (n) => n, 10)).toEqual([[3, 4], [5], [20], [1, 1]]);
    expect(packWithin([], (n: number) => n, 10)).toEqual([]);
  });

  it('cuts marks into one-tenant units within the budget, every marked row in exactly one unit', () => {
    const marks: MarkedSeriesBucket[] = [];
    for (const tenant of ['t2', 't1']) {
      for (let bucket = 0; bucket < 24; bucket += 1) {
        for (let series = 0; series < 7; series += 1) marks.push(mark(tenant, base + bucket * FIVE_MINUTES, `s${series}`, 50 + series * 40));
      }
    }
    const budget = 5_000;
    const units = planBucketUnits(marks, budget);
    const planned = units.flatMap((unit) => unit.fiveMinutes.map((row) => rowKey(unit.tenantId, row)));
    expect(planned.sort()).toEqual(marks.map((one) => rowKey(one.tenantId, one)).sort());
    const hours = units.flatMap((unit) => unit.hours.map((row) => rowKey(unit.tenantId, row)));
    expect(new Set(hours).size).toBe(hours.length);
    expect(hours).toHaveLength(2 * 2 * 7);
    for (const unit of units) {
      expect(unit.cost <= budget || unit.hours.length === 1).toBe(true);
      expect(
        new Set(unit.fiveMinutes.map((row) => rowKey(unit.tenantId, { bucketStart: new Date(row.bucketStart.getTime() - (row.bucketStart.getTime() % HOUR)), seriesKey: row.seriesKey }))),
      ).toEqual(new Set(unit.hours.map((row) => rowKey(unit.tenantId, row))));
    }
    // 24 buckets span 23:00-01:00: the units of the second hour flag the next day.
    expect(new Set(units.flatMap((unit) => unit.days.map((day) => day.toISOString())))).toEqual(new Set(['2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z']));
    expect(units[0]?.tenantId).toBe('t1');
  });

  it('never splits a series-hour, however many samples it holds', () => {
    const marks = [mark('t', base, 'big', 1_000_000), mark('t', base + FIVE_MINUTES, 'big', 1_000_000), mark('t', base, 'small', 10)];
    const units = planBucketUnits(marks, 20_000);
    expect(units.map((unit) => unit.hours.map((row) => row.seriesKey))).toEqual([['big'], ['small']]);
    expect(units[0]?.fiveMinutes).toHaveLength(2);
  });

  it('splits a failed unit into its series-hours, every row kept', () => {
    const marks = [mark('t', base, 'a', 1), mark('t', base + FIVE_MINUTES, 'a', 1), mark('t', base, 'b', 1), mark('t', base + HOUR, 'a', 1)];
    const [unit] = planBucketUnits(marks, 1_000_000);
    expect(unit?.hours).toHaveLength(3);
    const parts = unit === undefined ? [] : splitBucketUnit(unit);
    expect(parts.map((part) => part.hours.map((row) => rowKey('t', row)))).toEqual(unit?.hours.map((row) => [rowKey('t', row)]));
    expect(parts.flatMap((part) => part.fiveMinutes.map((row) => rowKey('t', row))).sort()).toEqual(marks.map((one) => rowKey('t', one)).sort());
    expect(parts.map((part) => part.days.map((day) => day.toISOString()))).toEqual([['2026-01-01T00:00:00.000Z'], ['2026-01-01T00:00:00.000Z'], ['2026-01-02T00:00:00.000Z']]);
  });

  it('sizes the work from the current rollups as well as the new samples', () => {
    const grown = { ...mark('t', base, 'a', 10), known5m: 9_000, known1h: 9_000 };
    expect(planBucketUnits([grown], 1)[0]?.cost).toBe(9_000 + 10 + ROW_COST + 9_000 + 10 + ROW_COST);
  });

  it('cuts the series of a day by their samples', () => {
    const series = [
      { seriesKey: 'a', samples: 4_000 },
      { seriesKey: 'b', samples: 4_000 },
      { seriesKey: 'c', samples: 50_000 },
      { seriesKey: 'd', samples: 1 },
    ];
    expect(planDayUnits(series, 10_000)).toEqual([['a', 'b'], ['c'], ['d']]);
  });
});
