import { signature, withoutName, type InstantVector, type Labels, type Sample } from './values.js';

interface Bucket {
  upperBound: number;
  count: number;
}

/** Prometheus's bucketQuantile over classic `le` buckets: linear interpolation inside the bucket the rank falls in. */
function bucketQuantile(q: number, unsorted: Bucket[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const sorted = [...unsorted].sort((a, b) => a.upperBound - b.upperBound);
  if (sorted[sorted.length - 1]?.upperBound !== Number.POSITIVE_INFINITY) return Number.NaN;
  // Buckets with the same bound are one bucket.
  const buckets: Bucket[] = [];
  for (const bucket of sorted) {
    const last = buckets[buckets.length - 1];
    if (last !== undefined && last.upperBound === bucket.upperBound) last.count += bucket.count;
    else buckets.push({ ...bucket });
  }
  // Counts never decrease with the bound (scrapes are not atomic).
  let highest = Number.NEGATIVE_INFINITY;
  for (const bucket of buckets) {
    if (bucket.count > highest) highest = bucket.count;
    else if (bucket.count < highest) bucket.count = highest;
  }
  if (buckets.length < 2) return Number.NaN;
  const observations = buckets[buckets.length - 1]?.count ?? 0;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  let index = buckets.slice(0, -1).findIndex((bucket) => bucket.count >= rank);
  if (index < 0) index = buckets.length - 1;
  if (index === buckets.length - 1) return buckets[buckets.length - 2]?.upperBound ?? Number.NaN;
  const first = buckets[0];
  if (index === 0 && first !== undefined && first.upperBound <= 0) return first.upperBound;
  const bucket = buckets[index] ?? { upperBound: Number.NaN, count: Number.NaN };
  let start = 0;
  let count = bucket.count;
  const previous = buckets[index - 1];
  if (previous !== undefined) {
    start = previous.upperBound;
    count -= previous.count;
    rank -= previous.count;
  }
  return start + (bucket.upperBound - start) * (rank / count);
}

/** histogram_quantile(q, buckets): per label set without `le`, the q-quantile of its buckets. */
export function histogramQuantile(q: number, input: InstantVector): InstantVector {
  const groups = new Map<string, { labels: Labels; buckets: Bucket[] }>();
  for (const sample of input.samples) {
    const le = sample.labels['le'];
    if (le === undefined) continue;
    const upperBound = le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le);
    if (Number.isNaN(upperBound)) continue;
    const { le: _bound, ...rest } = withoutName(sample.labels);
    const key = signature(rest);
    const group = groups.get(key) ?? { labels: rest, buckets: [] };
    group.buckets.push({ upperBound, count: sample.value });
    groups.set(key, group);
  }
  const samples: Sample[] = [...groups.values()].map((group) => ({ labels: group.labels, value: bucketQuantile(q, group.buckets) }));
  return { kind: 'vector', samples };
}
