/** Small order statistics shared by collectors, fraud rules and ML; NaN for an empty input, never an invented 0. */

/** Median, averaging the two middle values of an even-sized input. */
export function medianOf(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const mid = (sorted.length - 1) / 2;
  return ((sorted[Math.floor(mid)] ?? Number.NaN) + (sorted[Math.ceil(mid)] ?? Number.NaN)) / 2;
}

/** Nearest-rank percentile of an ascending array; `fraction` in [0, 1]. */
export function nearestRank(sorted: readonly number[], fraction: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1))] ?? Number.NaN;
}
