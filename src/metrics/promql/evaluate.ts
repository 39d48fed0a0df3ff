import { aggregate, AGGREGATIONS, quantile } from './aggregate.js';
import type { Expr, MatrixSelector, Subquery, VectorSelector } from './ast.js';
import { binary } from './binary.js';
import { histogramQuantile } from './histogram.js';
import { labelJoin, labelReplace } from './label-functions.js';
import { applyDateFunction, DATE_FUNCTIONS } from './date-functions.js';
import { applyMathFunction, applyRangeFunction, linearRegression, MATH_FUNCTIONS, RANGE_FUNCTIONS, scalarOf } from './functions.js';
import { badData, PromqlError, signature, withoutName, type InstantVector, type Labels, type Sample, type Value } from './values.js';

/** Prometheus 2.x's default lookback: an instant selector takes the newest sample up to 5 minutes old. */
export const LOOKBACK_MS = 5 * 60_000;
const YIELD_EVERY_MS = 5;

export interface SeriesData {
  labels: Labels;
  /** Epoch ms, ascending. */
  times: number[];
  values: number[];
}

/** Reads the series a selector matches, with their samples in [from, to] (ms, inclusive). */
export type SeriesLoader = (selector: VectorSelector, from: number, to: number) => Promise<SeriesData[]>;

export interface EvaluationLimits {
  maxSamples: number;
  timeoutMs: number;
}

export interface QueryRange {
  start: number;
  end: number;
  step: number;
}

type Point = [number, number];

export type QueryResult =
  | { resultType: 'vector'; result: Sample[] }
  | { resultType: 'scalar'; result: number }
  | { resultType: 'string'; result: string }
  | { resultType: 'matrix'; result: Array<{ labels: Labels; points: Point[] }> };

/** Prometheus's default evaluation interval: a subquery's step when it names none. */
export const DEFAULT_SUBQUERY_STEP_MS = 60_000;

/**
 * What one selector reads, relative to each evaluation time: `rangeMs` before its reference time
 * (lookback or range), plus what enclosing subqueries add before (`beforeMs`) and after
 * (`afterMs`, a negative subquery offset); `at`: an enclosing subquery's fixed time.
 */
interface SelectorRead {
  selector: VectorSelector;
  rangeMs: number;
  beforeMs: number;
  afterMs: number;
  at: number | 'start' | 'end' | undefined;
}

type ReadContext = Pick<SelectorRead, 'beforeMs' | 'afterMs' | 'at'>;

/** Every selector of the expression, with the part of time it reads. */
function selectorsOf(expr: Expr, into: SelectorRead[] = [], context: ReadContext = { beforeMs: 0, afterMs: 0, at: undefined }): SelectorRead[] {
  switch (expr.kind) {
    case 'vector':
      into.push({ selector: expr, rangeMs: LOOKBACK_MS, ...context });
      break;
    case 'matrix':
      into.push({ selector: expr.vector, rangeMs: expr.rangeMs, ...context });
      break;
    case 'subquery':
      selectorsOf(expr.expr, into, {
        beforeMs: context.beforeMs + expr.rangeMs + Math.max(0, expr.offsetMs),
        afterMs: context.afterMs + Math.max(0, -expr.offsetMs),
        at: expr.at ?? context.at,
      });
      break;
    case 'call':
      for (const arg of expr.args) selectorsOf(arg, into, context);
      break;
    case 'aggregate':
      selectorsOf(expr.expr, into, context);
      if (expr.param !== undefined) selectorsOf(expr.param, into, context);
      break;
    case 'binary':
      selectorsOf(expr.lhs, into, context);
      selectorsOf(expr.rhs, into, context);
      break;
    case 'unary':
      selectorsOf(expr.expr, into, context);
      break;
    default:
      break;
  }
  return into;
}

/** The last index whose time is at most `time` (-1 when none). */
function lastAtOrBefore(times: number[], time: number): number {
  let low = 0;
  let high = times.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if ((times[middle] ?? Number.POSITIVE_INFINITY) <= time) {
      found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  return found;
}

export class Evaluator {
  private readonly data = new Map<VectorSelector, SeriesData[]>();
  private readonly started = performance.now();

  constructor(
    private readonly range: QueryRange,
    private readonly limits: EvaluationLimits,
  ) {}

  /** Subquery results by evaluation time: a range query's steps share most of their points. */
  private readonly subqueryPoints = new Map<Subquery, Map<number, InstantVector>>();

  private resolveAt(at: number | 'start' | 'end' | undefined, time: number): number {
    return at === 'start' ? this.range.start : at === 'end' ? this.range.end : (at ?? time);
  }

  private referenceTime(selector: VectorSelector | Subquery, time: number): number {
    return this.resolveAt(selector.at, time) - selector.offsetMs;
  }

  /** Loads what every selector reads over the whole query, once. */
  async load(expr: Expr, loader: SeriesLoader): Promise<void> {
    let touched = 0;
    for (const { selector, rangeMs, beforeMs, afterMs, at } of selectorsOf(expr)) {
      const outer = [this.resolveAt(at, this.range.start), this.resolveAt(at, this.range.end)];
      const times = [Math.min(...outer) - beforeMs, Math.max(...outer) + afterMs].map((time) => this.referenceTime(selector, time));
      const series = await loader(selector, Math.min(...times) - rangeMs, Math.max(...times));
      touched += series.reduce((total, entry) => total + entry.times.length, 0);
      if (touched > this.limits.maxSamples) throw new PromqlError('execution', `query processing would load too many samples into memory (more than ${this.limits.maxSamples})`);
      this.data.set(selector, series);
    }
  }

  private checkTime(): void {
    if (performance.now() - this.started > this.limits.timeoutMs) throw new PromqlError('timeout', `query timed out after ${this.limits.timeoutMs} ms`);
  }

  /** The selector's newest sample of each series within the lookback; `timestamps`: its time in seconds instead of its value. */
  private instant(selector: VectorSelector, time: number, timestamps = false): InstantVector {
    const reference = this.referenceTime(selector, time);
    const samples: Sample[] = [];
    for (const series of this.data.get(selector) ?? []) {
      const index = lastAtOrBefore(series.times, reference);
      if (index < 0 || (series.times[index] ?? 0) < reference - LOOKBACK_MS) continue;
      samples.push({ labels: series.labels, value: timestamps ? (series.times[index] ?? Number.NaN) / 1000 : (series.values[index] ?? Number.NaN) });
    }
    return { kind: 'vector', samples };
  }

  private window(selector: MatrixSelector, time: number) {
    const end = this.referenceTime(selector.vector, time);
    const start = end - selector.rangeMs;
    const series = [];
    for (const entry of this.data.get(selector.vector) ?? []) {
      const last = lastAtOrBefore(entry.times, end);
      const first = lastAtOrBefore(entry.times, start - 1) + 1;
      if (last < first) continue;
      series.push({ labels: entry.labels, times: entry.times.slice(first, last + 1), values: entry.values.slice(first, last + 1) });
    }
    return { value: { kind: 'range' as const, series }, bounds: { start, end, rangeMs: selector.rangeMs } };
  }

  /**
   * A subquery at `time`: its expression at every multiple of the step in [end - range, end], where
   * end is `time` (or its @ time) minus its offset, as Prometheus aligns them.
   */
  private subquery(expr: Subquery, time: number) {
    const end = this.referenceTime(expr, time);
    const start = end - expr.rangeMs;
    const step = expr.stepMs ?? DEFAULT_SUBQUERY_STEP_MS;
    let first = Math.floor(start / step) * step;
    if (first < start) first += step;
    let cache = this.subqueryPoints.get(expr);
    if (cache === undefined) {
      cache = new Map();
      this.subqueryPoints.set(expr, cache);
    }
    const bySeries = new Map<string, { labels: Labels; times: number[]; values: number[] }>();
    for (let at = first; at <= end; at += step) {
      let vector = cache.get(at);
      if (vector === undefined) {
        this.checkTime();
        const value = this.evaluate(expr.expr, at);
        if (value.kind !== 'vector') throw badData(`subquery is only allowed on instant vector, got ${value.kind === 'range' ? 'range vector' : value.kind}`);
        vector = value;
        cache.set(at, vector);
      }
      for (const sample of vector.samples) {
        const key = signature(sample.labels);
        const series = bySeries.get(key) ?? { labels: sample.labels, times: [], values: [] };
        series.times.push(at);
        series.values.push(sample.value);
        bySeries.set(key, series);
      }
    }
    return { value: { kind: 'range' as const, series: [...bySeries.values()] }, bounds: { start, end, rangeMs: expr.rangeMs } };
  }

  /** A range-vector argument: a range selector or a subquery. */
  private rangeArgument(expr: Expr | undefined, time: number, func: string) {
    if (expr?.kind === 'matrix') return this.window(expr, time);
    if (expr?.kind === 'subquery') return this.subquery(expr, time);
    throw badData(`expected type range vector in call to function "${func}"`);
  }

  private vectorArgument(expr: Expr | undefined, time: number, func: string): InstantVector {
    const value = expr === undefined ? undefined : this.evaluate(expr, time);
    if (value?.kind !== 'vector') throw badData(`expected type instant vector in call to function "${func}"`);
    return value;
  }

  private scalarArgument(expr: Expr | undefined, time: number, func: string): number {
    const value = expr === undefined ? undefined : this.evaluate(expr, time);
    if (value?.kind !== 'scalar') throw badData(`expected type scalar in call to function "${func}"`);
    return value.value;
  }

  private stringArgument(expr: Expr | undefined, time: number, func: string): string {
    const value = expr === undefined ? undefined : this.evaluate(expr, time);
    if (value?.kind !== 'string') throw badData(`expected type string in call to function "${func}"`);
    return value.value;
  }

  private call(func: string, args: Expr[], time: number): Value {
    if (func in RANGE_FUNCTIONS) {
      const { value, bounds } = this.rangeArgument(args[0], time, func);
      return applyRangeFunction(func, value, bounds);
    }
    if (func in MATH_FUNCTIONS) return applyMathFunction(func, this.vectorArgument(args[0], time, func));
    if (func in DATE_FUNCTIONS) {
      // Without an argument, of vector(time()).
      const input = args.length === 0 ? { kind: 'vector' as const, samples: [{ labels: {}, value: time / 1000 }] } : this.vectorArgument(args[0], time, func);
      return applyDateFunction(func, input);
    }
    switch (func) {
      case 'time':
        return { kind: 'scalar', value: time / 1000 };
      case 'scalar':
        return scalarOf(this.vectorArgument(args[0], time, func));
      case 'vector':
        return { kind: 'vector', samples: [{ labels: {}, value: this.scalarArgument(args[0], time, func) }] };
      case 'clamp_min':
      case 'clamp_max': {
        const vector = this.vectorArgument(args[0], time, func);
        const bound = this.scalarArgument(args[1], time, func);
        return { kind: 'vector', samples: vector.samples.map((sample) => ({ labels: withoutName(sample.labels), value: func === 'clamp_min' ? Math.max(sample.value, bound) : Math.min(sample.value, bound) })) };
      }
      case 'label_replace': {
        const [destination, replacement, source, regex] = args.slice(1).map((arg) => this.stringArgument(arg, time, func));
        return labelReplace(this.vectorArgument(args[0], time, func), destination ?? '', replacement ?? '', source ?? '', regex ?? '');
      }
      case 'label_join': {
        const [destination, separator, ...sources] = args.slice(1).map((arg) => this.stringArgument(arg, time, func));
        return labelJoin(this.vectorArgument(args[0], time, func), destination ?? '', separator ?? '', sources);
      }
      case 'predict_linear': {
        const seconds = this.scalarArgument(args[1], time, func);
        const { value } = this.rangeArgument(args[0], time, func);
        const samples = value.series
          .filter((series) => series.values.length >= 2)
          .map((series) => {
            const { slope, intercept } = linearRegression(series.times, series.values, time);
            return { labels: withoutName(series.labels), value: slope * seconds + intercept };
          });
        return { kind: 'vector', samples };
      }
      case 'timestamp': {
        const [argument] = args;
        // Of a selector, each sample's own time; of any other expression, the evaluation time.
        if (argument?.kind === 'vector') return { kind: 'vector', samples: this.instant(argument, time, true).samples.map((sample) => ({ labels: withoutName(sample.labels), value: sample.value })) };
        return { kind: 'vector', samples: this.vectorArgument(argument, time, func).samples.map((sample) => ({ labels: withoutName(sample.labels), value: time / 1000 })) };
      }
      // Prometheus 2's holt_winters; the grammar (Prometheus 3's) knows it by its new name only.
      case 'double_exponential_smoothing': {
        const { value } = this.rangeArgument(args[0], time, func);
        const smoothing = this.scalarArgument(args[1], time, func);
        const trend = this.scalarArgument(args[2], time, func);
        if (!(smoothing > 0 && smoothing < 1)) throw new PromqlError('execution', `invalid smoothing factor. Expected: 0 < sf < 1, got: ${smoothing}`);
        if (!(trend > 0 && trend < 1)) throw new PromqlError('execution', `invalid trend factor. Expected: 0 < tf < 1, got: ${trend}`);
        const samples = value.series.filter((series) => series.values.length >= 2).map((series) => ({ labels: withoutName(series.labels), value: holtWinters(series.values, smoothing, trend) }));
        return { kind: 'vector', samples };
      }
      case 'quantile_over_time': {
        const q = this.scalarArgument(args[0], time, func);
        const { value } = this.rangeArgument(args[1], time, func);
        return { kind: 'vector', samples: value.series.map((series) => ({ labels: withoutName(series.labels), value: quantile(q, series.values) })) };
      }
      case 'absent_over_time': {
        const [argument] = args;
        if (this.rangeArgument(argument, time, func).value.series.length > 0) return { kind: 'vector', samples: [] };
        return absentVector(argument?.kind === 'matrix' ? argument.vector : undefined);
      }
      case 'histogram_quantile':
        return histogramQuantile(this.scalarArgument(args[0], time, func), this.vectorArgument(args[1], time, func));
      case 'sort':
      case 'sort_desc': {
        const vector = this.vectorArgument(args[0], time, func);
        const order = func === 'sort' ? 1 : -1;
        // NaN last either way, as Prometheus sorts.
        const rank = (value: number) => (Number.isNaN(value) ? Number.POSITIVE_INFINITY : order * value);
        return { kind: 'vector', samples: [...vector.samples].sort((a, b) => rank(a.value) - rank(b.value)) };
      }
      case 'absent': {
        const [argument] = args;
        const vector = this.vectorArgument(argument, time, func);
        return vector.samples.length > 0 ? { kind: 'vector', samples: [] } : absentVector(argument?.kind === 'vector' ? argument : undefined);
      }
      default:
        throw badData(`function "${func}" is not supported by this service yet`);
    }
  }

  evaluate(expr: Expr, time: number): Value {
    switch (expr.kind) {
      case 'number':
        return { kind: 'scalar', value: expr.value };
      case 'string':
        return { kind: 'string', value: expr.value };
      case 'vector':
        return this.instant(expr, time);
      case 'matrix':
        return this.window(expr, time).value;
      case 'subquery':
        return this.subquery(expr, time).value;
      case 'call':
        return this.call(expr.func, expr.args, time);
      case 'aggregate': {
        if (!(AGGREGATIONS as readonly string[]).includes(expr.op)) throw badData(`aggregation "${expr.op}" is not supported by this service yet`);
        const input = this.evaluate(expr.expr, time);
        if (input.kind !== 'vector') throw badData(`expected type instant vector in aggregation expression`);
        const param = expr.param === undefined ? undefined : this.evaluate(expr.param, time);
        if (param !== undefined && param.kind !== 'scalar' && param.kind !== 'string') throw badData(`expected type scalar in aggregation parameter`);
        return aggregate(expr.op, input, expr.grouping, param?.value);
      }
      case 'binary':
        return binary(expr.op, this.evaluate(expr.lhs, time), this.evaluate(expr.rhs, time), expr.bool, expr.matching);
      case 'unary': {
        const value = this.evaluate(expr.expr, time);
        if (expr.op === '+') return value;
        if (value.kind === 'scalar') return { kind: 'scalar', value: -value.value };
        if (value.kind === 'vector') return { kind: 'vector', samples: value.samples.map((sample) => ({ labels: withoutName(sample.labels), value: -sample.value })) };
        throw badData('unary expression only allowed on expressions of type scalar or instant vector');
      }
    }
  }

  /** An instant query at `time`. */
  instantQuery(expr: Expr, time: number): QueryResult {
    const value = this.evaluate(expr, time);
    switch (value.kind) {
      case 'scalar':
        return { resultType: 'scalar', result: value.value };
      case 'string':
        return { resultType: 'string', result: value.value };
      case 'vector':
        return { resultType: 'vector', result: unique(value.samples) };
      case 'range':
        return { resultType: 'matrix', result: value.series.map((series) => ({ labels: series.labels, points: series.times.map((at, index): Point => [at, series.values[index] ?? Number.NaN]) })) };
    }
  }

  /**
   * A range query: the expression at start, start + step, ... up to end. It yields to the event
   * loop every few milliseconds: one tenant's long query must not hold other tenants' requests.
   */
  async rangeQuery(expr: Expr): Promise<QueryResult> {
    const series = new Map<string, { labels: Labels; points: Point[] }>();
    let yieldedAt = performance.now();
    for (let time = this.range.start; time <= this.range.end; time += this.range.step) {
      this.checkTime();
      if (performance.now() - yieldedAt > YIELD_EVERY_MS) {
        await new Promise((resolve) => setImmediate(resolve));
        yieldedAt = performance.now();
      }
      const value = this.evaluate(expr, time);
      if (value.kind === 'range' || value.kind === 'string') throw badData(`invalid expression type "${value.kind === 'range' ? 'range vector' : 'string'}" for range query, must be Scalar or instant Vector`);
      const samples = value.kind === 'scalar' ? [{ labels: {}, value: value.value }] : unique(value.samples);
      for (const sample of samples) {
        const key = signature(sample.labels);
        const entry = series.get(key) ?? { labels: sample.labels, points: [] };
        entry.points.push([time, sample.value]);
        series.set(key, entry);
      }
    }
    return { resultType: 'matrix', result: [...series.values()] };
  }
}

/** Double exponential smoothing, step for step as Prometheus computes it (funcHoltWinters). */
function holtWinters(values: number[], smoothing: number, trendFactor: number): number {
  let previous = 0;
  let smoothed = values[0] ?? Number.NaN;
  let trend = (values[1] ?? Number.NaN) - smoothed;
  for (let index = 1; index < values.length; index += 1) {
    if (index > 1) trend = trendFactor * (smoothed - previous) + (1 - trendFactor) * trend;
    const next = smoothing * (values[index] ?? Number.NaN) + (1 - smoothing) * (smoothed + trend);
    previous = smoothed;
    smoothed = next;
  }
  return smoothed;
}

/** absent()'s answer: 1, with the labels the selector's equality matchers name (none for an expression). */
function absentVector(selector: VectorSelector | undefined): InstantVector {
  const labels: Labels = {};
  for (const matcher of selector?.matchers ?? []) if (!matcher.is_regex && matcher.is_equal !== false && matcher.name !== '__name__') labels[matcher.name] = matcher.value;
  return { kind: 'vector', samples: [{ labels, value: 1 }] };
}

function unique(samples: Sample[]): Sample[] {
  const seen = new Set<string>();
  for (const sample of samples) {
    const key = signature(sample.labels);
    if (seen.has(key)) throw new PromqlError('execution', 'vector cannot contain metrics with the same labelset');
    seen.add(key);
  }
  return samples;
}
