import { badData, withoutName, type InstantVector, type RangeVector, type Sample, type Scalar, type Value } from './values.js';

/** What a range function sees of one series: its samples in the window, and the window itself. */
interface Window {
  times: number[];
  values: number[];
  /** Window bounds in ms (evaluation time minus offset minus range, and minus offset). */
  start: number;
  end: number;
  rangeMs: number;
}

/** Prometheus's extrapolatedRate (rate, increase, delta): the change over the window, extrapolated to its edges. */
function extrapolatedRate(window: Window, isCounter: boolean, isRate: boolean): number | undefined {
  const { times, values } = window;
  const count = values.length;
  if (count < 2) return undefined;
  const first = values[0] ?? 0;
  const last = values[count - 1] ?? 0;
  const firstTime = times[0] ?? 0;
  const lastTime = times[count - 1] ?? 0;
  let result = last - first;
  if (isCounter) {
    let previous = 0;
    for (const value of values) {
      if (value < previous) result += previous;
      previous = value;
    }
  }
  let durationToStart = (firstTime - window.start) / 1000;
  const durationToEnd = (window.end - lastTime) / 1000;
  const sampledInterval = (lastTime - firstTime) / 1000;
  const averageBetween = sampledInterval / (count - 1);
  if (isCounter && result > 0 && first >= 0) {
    const durationToZero = sampledInterval * (first / result);
    if (durationToZero < durationToStart) durationToStart = durationToZero;
  }
  const threshold = averageBetween * 1.1;
  let interval = sampledInterval;
  interval += durationToStart < threshold ? durationToStart : averageBetween / 2;
  interval += durationToEnd < threshold ? durationToEnd : averageBetween / 2;
  // One factor, as Prometheus rounds it.
  let factor = interval / sampledInterval;
  if (isRate) factor /= window.rangeMs / 1000;
  return result * factor;
}

/** irate / idelta: the last two samples. */
function instantChange(window: Window, isRate: boolean): number | undefined {
  const count = window.values.length;
  if (count < 2) return undefined;
  const last = window.values[count - 1] ?? 0;
  const previous = window.values[count - 2] ?? 0;
  const change = isRate && last < previous ? last : last - previous;
  if (!isRate) return change;
  const seconds = ((window.times[count - 1] ?? 0) - (window.times[count - 2] ?? 0)) / 1000;
  return seconds === 0 ? undefined : change / seconds;
}

/** Prometheus's kahanSumInc: Neumaier's compensated addition of `increment` to `sum`, carrying `compensation`. */
function kahanAdd(increment: number, sum: number, compensation: number): [number, number] {
  const total = sum + increment;
  const lost = Math.abs(sum) >= Math.abs(increment) ? sum - total + increment : increment - total + sum;
  return [total, compensation + lost];
}

/** sum_over_time as Prometheus computes it: compensated. */
function sum(values: number[]): number {
  let total = 0;
  let compensation = 0;
  for (const value of values) [total, compensation] = kahanAdd(value, total, compensation);
  return Number.isFinite(total) ? total + compensation : total;
}

/** avg_over_time as Prometheus computes it: a compensated incremental mean, which does not overflow where the sum would. */
function mean(values: number[]): number {
  let average = 0;
  let compensation = 0;
  let count = 0;
  for (const value of values) {
    count += 1;
    if (!Number.isFinite(average)) {
      // An infinite mean stays so, unless an infinity of the other sign or a NaN arrives.
      if (Number.isFinite(value) || Math.sign(value) === Math.sign(average)) continue;
    }
    [average, compensation] = kahanAdd(value / count - average / count, average, compensation);
  }
  return Number.isFinite(average) ? average + compensation : average;
}

function variance(values: number[]): number {
  let count = 0;
  let average = 0;
  let squares = 0;
  for (const value of values) {
    count += 1;
    const delta = value - average;
    average += delta / count;
    squares += delta * (value - average);
  }
  return squares / count;
}

/** Prometheus's linearRegression: least squares over the window, x in seconds from `interceptTime`, compensated sums. */
export function linearRegression(times: number[], values: number[], interceptTime: number): { slope: number; intercept: number } {
  const first = values[0] ?? Number.NaN;
  if (values.every((value) => value === first)) return Number.isFinite(first) ? { slope: 0, intercept: first } : { slope: Number.NaN, intercept: Number.NaN };
  let sumX: [number, number] = [0, 0];
  let sumY: [number, number] = [0, 0];
  let sumXY: [number, number] = [0, 0];
  let sumX2: [number, number] = [0, 0];
  values.forEach((value, index) => {
    const x = ((times[index] ?? 0) - interceptTime) / 1000;
    sumX = kahanAdd(x, ...sumX);
    sumY = kahanAdd(value, ...sumY);
    sumXY = kahanAdd(x * value, ...sumXY);
    sumX2 = kahanAdd(x * x, ...sumX2);
  });
  const n = values.length;
  const [x, y, xy, x2] = [sumX[0] + sumX[1], sumY[0] + sumY[1], sumXY[0] + sumXY[1], sumX2[0] + sumX2[1]];
  const slope = (xy - (x * y) / n) / (x2 - (x * x) / n);
  return { slope, intercept: y / n - (slope * x) / n };
}

export const RANGE_FUNCTIONS: Record<string, (window: Window) => number | undefined> = {
  deriv: (window) => (window.values.length < 2 ? undefined : linearRegression(window.times, window.values, window.times[0] ?? 0).slope),
  rate: (window) => extrapolatedRate(window, true, true),
  increase: (window) => extrapolatedRate(window, true, false),
  delta: (window) => extrapolatedRate(window, false, false),
  irate: (window) => instantChange(window, true),
  idelta: (window) => instantChange(window, false),
  avg_over_time: (window) => (window.values.length === 0 ? undefined : mean(window.values)),
  sum_over_time: (window) => (window.values.length === 0 ? undefined : sum(window.values)),
  min_over_time: (window) => (window.values.length === 0 ? undefined : Math.min(...window.values)),
  max_over_time: (window) => (window.values.length === 0 ? undefined : Math.max(...window.values)),
  count_over_time: (window) => (window.values.length === 0 ? undefined : window.values.length),
  last_over_time: (window) => window.values[window.values.length - 1],
  stddev_over_time: (window) => (window.values.length === 0 ? undefined : Math.sqrt(variance(window.values))),
  stdvar_over_time: (window) => (window.values.length === 0 ? undefined : variance(window.values)),
  changes: (window) => (window.values.length === 0 ? undefined : window.values.slice(1).filter((value, index) => value !== window.values[index] && !(Number.isNaN(value) && Number.isNaN(window.values[index]))).length),
  resets: (window) => (window.values.length === 0 ? undefined : window.values.slice(1).filter((value, index) => value < (window.values[index] ?? 0)).length),
};

/** Functions of one instant vector applied to each value (the metric name is dropped). */
export const MATH_FUNCTIONS: Record<string, (value: number) => number> = {
  abs: Math.abs,
  ceil: Math.ceil,
  floor: Math.floor,
  exp: Math.exp,
  sqrt: Math.sqrt,
  ln: Math.log,
  log2: Math.log2,
  log10: Math.log10,
  // Go's math.Round: half away from zero.
  round: (value) => Math.sign(value) * Math.round(Math.abs(value)),
  sgn: Math.sign,
};

/** Applies a range function to every series of a range vector at one evaluation. */
export function applyRangeFunction(name: string, argument: RangeVector, bounds: { start: number; end: number; rangeMs: number }): InstantVector {
  const apply = RANGE_FUNCTIONS[name];
  if (apply === undefined) throw badData(`unknown function ${name}`);
  const samples: Sample[] = [];
  for (const series of argument.series) {
    const value = apply({ times: series.times, values: series.values, ...bounds });
    // last_over_time keeps the metric name, as Prometheus does; every other range function drops it.
    if (value !== undefined) samples.push({ labels: name === 'last_over_time' ? series.labels : withoutName(series.labels), value });
  }
  return { kind: 'vector', samples };
}

export function applyMathFunction(name: string, argument: Value): InstantVector {
  const apply = MATH_FUNCTIONS[name];
  if (apply === undefined || argument.kind !== 'vector') throw badData(`function ${name} takes an instant vector`);
  return { kind: 'vector', samples: argument.samples.map((sample) => ({ labels: withoutName(sample.labels), value: apply(sample.value) })) };
}

export const scalarOf = (vector: InstantVector): Scalar => ({ kind: 'scalar', value: vector.samples.length === 1 ? (vector.samples[0]?.value ?? Number.NaN) : Number.NaN });
