import { encodeWriteRequest, type RemoteTimeSeries } from '../../../src/metrics/remote-write/codec.js';
import { generateSeries } from './corpus.js';

/** One answer of the Prometheus HTTP API. */
export interface ApiAnswer {
  status: string;
  errorType?: string;
  data?: { resultType: string; result: unknown };
}

/** Asks one system: path and query parameters in, its parsed answer out. */
export type Ask = (path: string, params: Record<string, string>) => Promise<ApiAnswer>;

/** An answer reduced to what must agree: per label set, its values (or the error type). */
function normalise(answer: ApiAnswer): Map<string, number[]> | string {
  if (answer.status !== 'success' || answer.data === undefined) return `error:${answer.errorType ?? '?'}`;
  const { resultType, result } = answer.data;
  const out = new Map<string, number[]>();
  const key = (metric: Record<string, string>) => JSON.stringify(Object.entries(metric).sort(([a], [b]) => (a < b ? -1 : 1)));
  if (resultType === 'scalar') out.set('scalar', [Number((result as [number, string])[1])]);
  else if (resultType === 'vector') for (const entry of result as Array<{ metric: Record<string, string>; value: [number, string] }>) out.set(key(entry.metric), [entry.value[0], Number(entry.value[1])]);
  else if (resultType === 'matrix') for (const entry of result as Array<{ metric: Record<string, string>; values: Array<[number, string]> }>) out.set(key(entry.metric), entry.values.flatMap(([at, value]) => [at, Number(value)]));
  return out;
}

const close = (a: number, b: number) => (Number.isNaN(a) && Number.isNaN(b)) || a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));

/** Why two answers disagree (same series, values within 1e-9 relative, same error type), or undefined. */
export function difference(ours: ApiAnswer, theirs: ApiAnswer): string | undefined {
  const a = normalise(ours);
  const b = normalise(theirs);
  if (typeof a === 'string' || typeof b === 'string') return a === b ? undefined : `${typeof a === 'string' ? a : 'success'} vs Prometheus ${typeof b === 'string' ? b : 'success'}`;
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const left = a.get(key);
    const right = b.get(key);
    if (left === undefined || right === undefined) return `series ${key} only in ${left === undefined ? 'Prometheus' : 'the service'}`;
    if (left.length !== right.length) return `series ${key}: ${left.length / 2} points vs ${right.length / 2}`;
    const at = left.findIndex((value, index) => !close(value, right[index] ?? Number.NaN));
    if (at >= 0) return `series ${key}: ${left[at]} vs Prometheus ${right[at]} at position ${at}`;
  }
  return undefined;
}

/** The corpus' data as remote-write bodies, ten minutes at a time in time order (Prometheus's head takes nothing older than an hour before its newest sample). */
export function writeBodies(end: number): Buffer[] {
  const series = generateSeries(end);
  const bodies: Buffer[] = [];
  for (let from = end - 60 * 60_000; from <= end; from += 10 * 60_000) {
    const slice: RemoteTimeSeries[] = series.map((entry) => ({ labels: entry.labels, samples: entry.samples.filter((sample) => sample.timestamp >= from && sample.timestamp < from + 10 * 60_000) })).filter((entry) => entry.samples.length > 0);
    bodies.push(Buffer.from(encodeWriteRequest({ timeseries: slice })));
  }
  return bodies;
}

/** Runs each query on both systems at four instant times and as range queries at two steps. */
export async function compareCorpus(queries: readonly string[], end: number, ours: Ask, theirs: Ask): Promise<{ compared: number; mismatches: string[] }> {
  const mismatches: string[] = [];
  let compared = 0;
  const both = async (what: string, path: string, params: Record<string, string>) => {
    const [a, b] = await Promise.all([ours(path, params), theirs(path, params)]);
    const problem = difference(a, b);
    compared += 1;
    if (problem !== undefined) mismatches.push(`${what}: ${problem}`);
  };
  for (const query of queries) {
    for (const time of [end - 30 * 60_000, end - 7 * 60_000 - 7_000, end, end + 3 * 60_000]) await both(`${query} @ ${time}`, '/api/v1/query', { query, time: String(time / 1000) });
    for (const step of ['60', '37']) await both(`${query} [step ${step}]`, '/api/v1/query_range', { query, start: String((end - 50 * 60_000) / 1000), end: String(end / 1000), step });
  }
  return { compared, mismatches };
}
