import { describe, expect, it } from 'vitest';
import { baselineHoursAt, fitStandardizer, fromTarget, rawSequence, residualRange, servedBy, soldByOf, standardize, toTarget } from '../../src/analytics/sales/sellout-features.js';
import { baselineSellout } from '../../src/analytics/sales/sellout.js';

const HOUR = 3_600_000;
const shape = { bucketMs: HOUR, steps: 3 };
// Slots of 5 minutes from midnight UTC: 1 ticket in each slot of the first hour, 2 in each of the second.
const fromMs = Date.UTC(2026, 0, 1);
const tickets = Float64Array.from([...Array<number>(12).fill(1), ...Array<number>(12).fill(2)]);
const soldBy = soldByOf({ fromMs, slotMs: HOUR / 12, tickets, soldBefore: 4 });

describe('sellout model features', () => {
  it('a sequence has tickets per bucket and sold-by-then as fractions of capacity, and the hour of day, oldest first', () => {
    const rows = rawSequence(soldBy, 100, fromMs + 2 * HOUR, shape);
    expect(rows.map((row) => row.slice(0, 2))).toEqual([
      [0, 0.04],
      [0.12, 0.16],
      [0.24, 0.4],
    ]);
    expect(rows[2]?.[2]).toBeCloseTo(Math.sin((2 * Math.PI * 2) / 24), 12);
    expect(rows[2]?.[3]).toBeCloseTo(Math.cos((2 * Math.PI * 2) / 24), 12);
  });

  it("the backtest baseline is the sales report's recent-rate prediction at the cut", () => {
    const cut = fromMs + 2 * HOUR;
    const expected = baselineSellout({ remaining: 60, ticketsInWindow: 24, ordersInWindow: 1, windowHours: 1, now: new Date(cut), startsAt: new Date(cut) }).hours;
    expect(baselineHoursAt(soldBy, 100, cut, fromMs)).toBe(expected);
    expect(expected).toBeCloseTo(2.5, 12);
  });

  it('standardizes each feature over all steps, and the target round-trips through log1p', () => {
    const by = fitStandardizer([[[1, 0, 0, 5], [3, 0, 0, 5]]]);
    expect(by.mean).toEqual([2, 0, 0, 5]);
    expect(by.std).toEqual([1, 1, 1, 1]);
    expect(standardize([[3, 0, 0, 5]], by)).toEqual([[1, 0, 0, 0]]);
    expect(fromTarget(toTarget(7.5))).toBeCloseTo(7.5, 12);
  });

  it('the range is the 5th-95th percentile of held-out residuals, and the backtest decides who serves', () => {
    const actual = Array.from({ length: 20 }, (_, i) => i);
    expect(residualRange(actual, actual.map((a) => a - 1))).toEqual({ low: 1, high: 1 });
    expect(servedBy({ lstmMaeHours: 1.2, baselineMaeHours: 3 })).toBe('lstm');
    expect(servedBy({ lstmMaeHours: 3, baselineMaeHours: 3 })).toBe('baseline');
    expect(servedBy({ lstmMaeHours: Number.NaN, baselineMaeHours: 3 })).toBe('baseline');
  });
});
