import { nearestRank } from '../../platform/stats.js';
import { baselineSellout, rateWindowHours } from './sellout.js';

/**
 * Inputs of the LSTM sellout model. Training cut points and live predictions build their sequences
 * with the same functions, so what the model learned is what it is asked.
 */
export const SLOTS_PER_BUCKET = 12;
export const FEATURES = 4;
const HOUR = 3_600_000;

export interface SequenceShape {
  /** Length of one step of the sequence. */
  bucketMs: number;
  /** Steps the LSTM reads. */
  steps: number;
}

/** Tickets of one event per slot (bucketMs / SLOTS_PER_BUCKET) from `fromMs`, plus those sold before it. */
export interface SlotHistogram {
  fromMs: number;
  slotMs: number;
  tickets: Float64Array;
  soldBefore: number;
}

export const slotMsOf = (shape: SequenceShape) => shape.bucketMs / SLOTS_PER_BUCKET;

/** Cumulative tickets sold before a time (rounded to a slot edge), from a histogram's prefix sums. */
export type SoldBy = (atMs: number) => number;

/** Builds the prefix sums of a histogram once; every sequence and baseline of its cut points reads them. */
export function soldByOf(histogram: SlotHistogram): SoldBy {
  const { tickets, fromMs, slotMs, soldBefore } = histogram;
  const prefix = new Float64Array(tickets.length + 1);
  for (let i = 0; i < tickets.length; i++) prefix[i + 1] = (prefix[i] ?? 0) + (tickets[i] ?? 0);
  return (atMs) => soldBefore + (prefix[Math.min(tickets.length, Math.max(0, Math.round((atMs - fromMs) / slotMs)))] ?? 0);
}

/**
 * Raw features of the `steps` buckets ending at `cutMs`, oldest first: tickets in the bucket and
 * tickets sold by its end (both as fractions of capacity), and the hour of day of its end (sin, cos)
 * because ticket buying follows the day.
 */
export function rawSequence(soldBy: SoldBy, capacity: number, cutMs: number, shape: SequenceShape): number[][] {
  const rows: number[][] = [];
  for (let step = 0; step < shape.steps; step++) {
    const endMs = cutMs - (shape.steps - 1 - step) * shape.bucketMs;
    const soldAtEnd = soldBy(endMs);
    const inBucket = soldAtEnd - soldBy(endMs - shape.bucketMs);
    const hour = (endMs % 86_400_000) / HOUR;
    rows.push([inBucket / capacity, Math.min(1, soldAtEnd / capacity), Math.sin((2 * Math.PI * hour) / 24), Math.cos((2 * Math.PI * hour) / 24)]);
  }
  return rows;
}

/** The baseline's point estimate at `cutMs` from the same histogram, exactly as the sales report computes it. */
export function baselineHoursAt(soldBy: SoldBy, capacity: number, cutMs: number, firstSaleMs: number): number | null {
  const sold = soldBy(cutMs);
  const now = new Date(cutMs);
  return baselineSellout({ remaining: Math.max(0, capacity - sold), ticketsInWindow: sold - soldBy(cutMs - HOUR), ordersInWindow: 1, windowHours: rateWindowHours(cutMs, firstSaleMs), now, startsAt: now }).hours;
}

export interface Standardizer {
  mean: number[];
  std: number[];
}

/** Per-feature mean and standard deviation over every step of every sequence (std 1 for a constant feature). */
export function fitStandardizer(sequences: readonly number[][][]): Standardizer {
  const sum = new Array<number>(FEATURES).fill(0);
  const squares = new Array<number>(FEATURES).fill(0);
  let count = 0;
  for (const sequence of sequences) {
    for (const row of sequence) {
      row.forEach((value, feature) => {
        sum[feature] = (sum[feature] ?? 0) + value;
        squares[feature] = (squares[feature] ?? 0) + value * value;
      });
      count += 1;
    }
  }
  const mean = sum.map((total) => (count === 0 ? 0 : total / count));
  const std = squares.map((total, feature) => {
    const variance = count === 0 ? 0 : total / count - (mean[feature] ?? 0) ** 2;
    return variance > 1e-12 ? Math.sqrt(variance) : 1;
  });
  return { mean, std };
}

export const standardize = (sequence: readonly number[][], by: Standardizer): number[][] =>
  sequence.map((row) => row.map((value, feature) => (value - (by.mean[feature] ?? 0)) / (by.std[feature] ?? 1)));

/** The LSTM predicts log(1 + hours to sellout): errors of a few hours matter at 2 h, not at 200 h. */
export const toTarget = (hours: number) => Math.log1p(Math.max(0, hours));
export const fromTarget = (target: number) => Math.max(0, Math.expm1(target));

/** 5th and 95th percentiles of actual minus predicted target on held-out cut points: the model's range. */
export function residualRange(actualTargets: readonly number[], predictedTargets: readonly number[]): { low: number; high: number } {
  const residuals = actualTargets.map((actual, index) => actual - (predictedTargets[index] ?? Number.NaN)).filter(Number.isFinite).sort((a, b) => a - b);
  return { low: nearestRank(residuals, 0.05), high: nearestRank(residuals, 0.95) };
}

export const meanAbsolute = (errors: readonly number[]) => (errors.length === 0 ? Number.NaN : errors.reduce((a, b) => a + Math.abs(b), 0) / errors.length);

/** Which prediction serves: the LSTM only when the backtest shows a lower error than the baseline's. */
export function servedBy(backtest: { lstmMaeHours: number; baselineMaeHours: number }): 'lstm' | 'baseline' {
  if (!Number.isFinite(backtest.lstmMaeHours)) return 'baseline';
  if (!Number.isFinite(backtest.baselineMaeHours)) return 'lstm';
  return backtest.lstmMaeHours < backtest.baselineMaeHours ? 'lstm' : 'baseline';
}
