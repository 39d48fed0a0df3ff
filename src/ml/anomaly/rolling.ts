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

  /**
   * Median absolute deviation around `center`. The deviations in ascending order are a merge of two
   * sorted runs (values below `center` walked down, the others walked up): walking that merge to
   * the middle needs no copy and no sort.
   */
  mad(center: number): number {
    const n = this.sorted.length;
    if (n === 0) return Number.NaN;
    const loRank = Math.floor((n - 1) / 2);
    const hiRank = Math.ceil((n - 1) / 2);
    let below = this.lowerBound(center) - 1;
    let above = below + 1;
    let lo = 0;
    let hi = 0;
    for (let rank = 0; rank <= hiRank; rank++) {
      const down = below >= 0 ? center - (this.sorted[below] ?? center) : Number.POSITIVE_INFINITY;
      const up = above < n ? (this.sorted[above] ?? center) - center : Number.POSITIVE_INFINITY;
      const deviation = down <= up ? down : up;
      if (down <= up) below -= 1;
      else above += 1;
      if (rank === loRank) lo = deviation;
      hi = deviation;
    }
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
