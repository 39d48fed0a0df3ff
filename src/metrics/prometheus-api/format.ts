import type { QueryResult } from '../promql/evaluate.js';

/** A sample value as Prometheus writes it: a string, with +Inf, -Inf and NaN spelled so. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

const seconds = (ms: number) => ms / 1000;

/** The `data` of a query answer, in the Prometheus HTTP API's shapes. */
export function formatResult(result: QueryResult, time: number): { resultType: string; result: unknown } {
  switch (result.resultType) {
    case 'scalar':
      return { resultType: 'scalar', result: [seconds(time), formatValue(result.result)] };
    case 'string':
      return { resultType: 'string', result: [seconds(time), result.result] };
    case 'vector':
      return { resultType: 'vector', result: result.result.map((sample) => ({ metric: sample.labels, value: [seconds(time), formatValue(sample.value)] })) };
    case 'matrix':
      return { resultType: 'matrix', result: result.result.map((series) => ({ metric: series.labels, values: series.points.map(([at, value]) => [seconds(at), formatValue(value)]) })) };
  }
}
