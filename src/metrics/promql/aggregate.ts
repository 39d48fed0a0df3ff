import { badData, signature, withoutName, type InstantVector, type Labels, type Sample } from './values.js';

export const AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values'] as const;

function groupLabels(labels: Labels, grouping: { without: boolean; labels: string[] } | undefined): Labels {
  if (grouping === undefined) return {};
  if (grouping.without) {
    const kept = withoutName(labels);
    for (const name of grouping.labels) delete kept[name];
    return kept;
  }
  const kept: Labels = {};
  for (const name of grouping.labels) {
    const value = labels[name];
    if (value !== undefined && value !== '') kept[name] = value;
  }
  return kept;
}

/** Prometheus's quantile: linear interpolation between the closest ranks; beyond [0, 1], -Inf or +Inf. */
export function quantile(q: number, values: number[]): number {
  if (values.length === 0 || Number.isNaN(q)) return Number.NaN;
  if (q < 0) return Number.NEGATIVE_INFINITY;
  if (q > 1) return Number.POSITIVE_INFINITY;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = q * (sorted.length - 1);
  const lower = Math.max(0, Math.floor(rank));
  const upper = Math.min(sorted.length - 1, lower + 1);
  const weight = rank - Math.floor(rank);
  return (sorted[lower] ?? 0) * (1 - weight) + (sorted[upper] ?? 0) * weight;
}

function reduce(op: string, values: number[]): number {
  switch (op) {
    case 'sum':
      return values.reduce((total, value) => total + value, 0);
    case 'avg': {
      let average = 0;
      values.forEach((value, index) => {
        average += value / (index + 1) - average / (index + 1);
      });
      return average;
    }
    case 'min':
      return values.reduce((low, value) => (Number.isNaN(low) || value < low ? value : low), Number.NaN);
    case 'max':
      return values.reduce((high, value) => (Number.isNaN(high) || value > high ? value : high), Number.NaN);
    case 'count':
      return values.length;
    case 'group':
      return 1;
    case 'stddev':
    case 'stdvar': {
      let average = 0;
      let squares = 0;
      values.forEach((value, index) => {
        const delta = value - average;
        average += delta / (index + 1);
        squares += delta * (value - average);
      });
      const variance = squares / values.length;
      return op === 'stddev' ? Math.sqrt(variance) : variance;
    }
    default:
      throw badData(`aggregation ${op} is not supported`);
  }
}

/** One aggregation at one evaluation time. `param` is topk/bottomk's k or quantile's q. */
export function aggregate(op: string, input: InstantVector, grouping: { without: boolean; labels: string[] } | undefined, param: number | string | undefined): InstantVector {
  if (op === 'count_values') {
    // count_values("label", v): per group and value, how many series have it; the value becomes the label.
    if (typeof param !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(param)) throw badData(`invalid label name "${String(param)}" in count_values`);
    const relabelled = input.samples.map((sample) => ({ labels: { ...groupLabels(sample.labels, grouping), [param]: String(sample.value) }, value: sample.value }));
    return aggregate('count', { kind: 'vector', samples: relabelled }, { without: false, labels: [...new Set(relabelled.flatMap((sample) => Object.keys(sample.labels)))] }, undefined);
  }
  const groups = new Map<string, { labels: Labels; samples: Sample[] }>();
  for (const sample of input.samples) {
    const labels = groupLabels(sample.labels, grouping);
    const key = signature(labels);
    const group = groups.get(key) ?? { labels, samples: [] };
    group.samples.push(sample);
    groups.set(key, group);
  }
  const out: Sample[] = [];
  for (const group of groups.values()) {
    if (op === 'topk' || op === 'bottomk') {
      const k = Math.floor(typeof param === 'number' ? param : 0);
      if (k < 1) continue;
      const ordered = [...group.samples].sort((a, b) => (op === 'topk' ? b.value - a.value : a.value - b.value));
      out.push(...ordered.slice(0, k));
      continue;
    }
    const values = group.samples.map((sample) => sample.value);
    out.push({ labels: group.labels, value: op === 'quantile' ? quantile(typeof param === 'number' ? param : Number.NaN, values) : reduce(op, values) });
  }
  return { kind: 'vector', samples: out };
}
