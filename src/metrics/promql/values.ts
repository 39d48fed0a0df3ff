/** The values a PromQL expression evaluates to, at one evaluation time. */
export type Labels = Record<string, string>;

export interface Sample {
  labels: Labels;
  value: number;
}

export interface Scalar {
  kind: 'scalar';
  value: number;
}

export interface InstantVector {
  kind: 'vector';
  samples: Sample[];
}

/** A range selector's samples at one evaluation time (only as a function argument, or a query's top level). */
export interface RangeVector {
  kind: 'range';
  series: Array<{ labels: Labels; times: number[]; values: number[] }>;
}

export interface StringValue {
  kind: 'string';
  value: string;
}

export type Value = Scalar | InstantVector | RangeVector | StringValue;

/** Prometheus's error types: bad_data (400), execution (422), timeout (503). */
export class PromqlError extends Error {
  constructor(
    readonly type: 'bad_data' | 'execution' | 'timeout',
    message: string,
  ) {
    super(message);
  }
}

export const badData = (message: string) => new PromqlError('bad_data', message);

/** A label set's identity: sorted name=value pairs. */
export function signature(labels: Labels, only?: readonly string[], except?: readonly string[]): string {
  const names = Object.keys(labels)
    .filter((name) => (only === undefined || only.includes(name)) && (except === undefined || !except.includes(name)))
    .sort();
  return JSON.stringify(names.map((name) => [name, labels[name]]));
}

export function withoutName(labels: Labels): Labels {
  const { __name__: _dropped, ...rest } = labels;
  return rest;
}

/** Orders label sets as Prometheus sorts series: by each label, name by name. */
export function compareLabels(a: Labels, b: Labels): number {
  const left = Object.keys(a).sort();
  const right = Object.keys(b).sort();
  for (let index = 0; index < Math.min(left.length, right.length); index += 1) {
    const nameA = left[index] ?? '';
    const nameB = right[index] ?? '';
    if (nameA !== nameB) return nameA < nameB ? -1 : 1;
    const valueA = a[nameA] ?? '';
    const valueB = b[nameB] ?? '';
    if (valueA !== valueB) return valueA < valueB ? -1 : 1;
  }
  return left.length - right.length;
}
