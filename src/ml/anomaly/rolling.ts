/** Fixed-capacity window of numbers kept in sorted order, for rolling medians and ranks. */
export class SortedWindow {
  private readonly order: number[] = [];
  private readonly sorted: number[] = [];

  constructor(private readonly capacity: number) {}

  get size(): number {
    return this.order.length;
  }

  /** Becomes a copy of `other` (same capacity assumed). */
  copyFrom(other: SortedWindow): void {
    this.order.splice(0, this.order.length, ...other.order);
    this.sorted.splice(0, this.sorted.length, ...other.sorted);
  }

  push(value: number): void {
    if (this.order.length === this.capacity) {
      const oldest = this.order.shift();
      if (oldest !== undefined) this.sorted.splice(this.lowerBound(oldest), 1);
    }
    this.order.push(value);
    this.sorted.splice(this.lowerBound(value), 0, value);
  }

  /** Quantile by linear interpolation, q in [0,1]; NaN when empty. */
  quantile(q: number): number {
    const n = this.sorted.length;
    if (n === 0) return Number.NaN;
    const pos = q * (n - 1);
    const lo = Math.floor(pos);
    const a = this.sorted[lo] ?? Number.NaN;
    const b = this.sorted[Math.min(n - 1, lo + 1)] ?? a;
    return a + (b - a) * (pos - lo);
  }

  median(): number {
    return this.quantile(0.5);
  }

  /** Median absolute deviation around `center`, computed on the sorted values. */
  mad(center: number): number {
    const n = this.sorted.length;
    if (n === 0) return Number.NaN;
    const deviations = new Float64Array(n);
    for (let i = 0; i < n; i++) deviations[i] = Math.abs((this.sorted[i] ?? center) - center);
    deviations.sort();
    const mid = (n - 1) / 2;
    const lo = deviations[Math.floor(mid)] ?? 0;
    const hi = deviations[Math.ceil(mid)] ?? lo;
    return (lo + hi) / 2;
  }

  /** Number of stored values strictly below `value`. */
  countBelow(value: number): number {
    return this.lowerBound(value);
  }

  /** The most recent values, oldest first (at most `count`). */
  last(count: number): number[] {
    return this.order.slice(Math.max(0, this.order.length - count));
  }

  private lowerBound(value: number): number {
    let lo = 0;
    let hi = this.sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.sorted[mid] ?? 0) < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
