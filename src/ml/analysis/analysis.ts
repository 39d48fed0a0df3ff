import { RobustAnomalyDetector } from '../anomaly/robust-detector.js';
import { medianOf } from '../../platform/stats.js';
import type { PaymentSample } from './analysis.repository.js';

/** Fewest payment attempts a bucket needs for its failure rate to be scored (a rate of 1 of 2 says little). */
export const MIN_ATTEMPTS_PER_BUCKET = 10;
/** Buckets a series needs before its newest one is scored (the robust detector's warm-up). */
export const MIN_BUCKETS = 20;

/**
 * `payment_failure_total` / `payment_success_total` are counters: each series' increase between
 * consecutive samples (a drop is a reset, the new value counting in full) is added to the bucket of
 * the later sample, per `provider` label ('all' when the label is absent).
 */
export function paymentBuckets(samples: readonly PaymentSample[], bucketMs: number): Map<string, Map<number, { failures: number; successes: number }>> {
  const byProvider = new Map<string, Map<number, { failures: number; successes: number }>>();
  let previous: PaymentSample | undefined;
  for (const sample of samples) {
    const sameSeries = previous !== undefined && previous.series_key === sample.series_key;
    const increase = !sameSeries || previous === undefined ? null : sample.value >= previous.value ? sample.value - previous.value : sample.value;
    previous = sample;
    if (increase === null) continue;
    const bucket = Math.floor(sample.at / bucketMs) * bucketMs;
    let buckets = byProvider.get(sample.provider);
    if (buckets === undefined) {
      buckets = new Map();
      byProvider.set(sample.provider, buckets);
    }
    const entry = buckets.get(bucket) ?? { failures: 0, successes: 0 };
    if (sample.metric_name === 'payment_failure_total') entry.failures += increase;
    else entry.successes += increase;
    buckets.set(bucket, entry);
  }
  return byProvider;
}

/** Failure rate per bucket, oldest first, for buckets with enough attempts. */
export function failureRates(buckets: Map<number, { failures: number; successes: number }>): Array<[number, number, number]> {
  return [...buckets.entries()]
    // Counts past the double range (pushed values near 1e308) give no rate: the bucket is left out.
    .filter(([, counts]) => Number.isFinite(counts.failures + counts.successes) && counts.failures + counts.successes >= MIN_ATTEMPTS_PER_BUCKET)
    .sort((a, b) => a[0] - b[0])
    .map(([bucket, counts]) => [counts.failures / (counts.failures + counts.successes), bucket, counts.failures + counts.successes]);
}

/**
 * The newest point's anomaly score in [0,1] from the robust detector (seasonality, median/MAD
 * scale, level shifts) run over the series in order; null when the series is too short.
 */
export function newestScore(points: ReadonlyArray<readonly [number, number]>): number | null {
  if (points.length < MIN_BUCKETS) return null;
  const detector = new RobustAnomalyDetector({ warmup: MIN_BUCKETS - 1 });
  let score = 0;
  for (const [value, at] of points) score = detector.update(at, value);
  return score;
}

/**
 * Smallest rises that count: a detector score alone flags tiny moves on quiet, quantised series
 * (3% -> 4% failures), so an anomaly must also be a rise of 5 percentage points of failure rate, or
 * of 25% over the median p95. Falls (fewer failures, faster responses) never alert.
 */
export const MIN_FAILURE_RATE_RISE = 0.05;
export const MIN_LATENCY_RISE_RATIO = 1.25;

export function isMeaningfulRise(kind: 'payment_failure_rate' | 'latency_p95', history: readonly number[], newest: number): boolean {
  if (history.length === 0) return false;
  const median = medianOf(history);
  return kind === 'payment_failure_rate' ? newest - median >= MIN_FAILURE_RATE_RISE : newest >= median * MIN_LATENCY_RISE_RATIO;
}
