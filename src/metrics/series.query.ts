import type { Tx } from '../platform/db/index.js';
import { finiteMean, finiteSum, SQL_SCALE_DOWN } from '../platform/db/finite-aggregates.js';
import type { Matcher } from '../platform/matchers/index.js';
import { matcherConditions } from './label-matchers.js';
import { ROLLUP_RESOLUTIONS, type RollupResolution } from './rollups.repository.js';
import type { SampleSource } from './store/sample-source.js';

export type Aggregation = 'avg' | 'sum' | 'min' | 'max' | 'count';
export const AGGREGATIONS: readonly Aggregation[] = ['avg', 'sum', 'min', 'max', 'count'];

export interface SeriesQuery {
  name: string;
  service?: string;
  matchers: readonly Matcher[];
  from: Date;
  to: Date;
  bucketMs: number;
  aggregation: Aggregation;
}

export interface Series {
  seriesKey: string;
  name: string;
  service: string;
  labels: Record<string, string>;
  /** [value, bucket start in epoch ms], oldest first. */
  points: Array<[number, number]>;
}

export interface SeriesResult {
  series: Series[];
  /** Where the points came from: raw samples or a rollup resolution. */
  source: 'raw' | RollupResolution;
  bucketMs: number;
}

// Sums and means never raise on finite samples: a sum past the double range is +/-Infinity
// (finite-aggregates.ts). Over rollups, a bucket's total is its finite avg times its count (its sum may be Infinity).
const ROLLUP_TOTAL = { value: 'sum', scaled: `avg * ${SQL_SCALE_DOWN} * count` };
const RAW_AGGREGATE: Record<Aggregation, string> = { avg: finiteMean({ value: 'value' }, 'count(value)'), sum: finiteSum({ value: 'value' }), min: 'min(value)', max: 'max(value)', count: 'count(*)' };
const ROLLUP_AGGREGATE: Record<Aggregation, string> = { avg: finiteMean(ROLLUP_TOTAL, 'sum(count)'), sum: finiteSum(ROLLUP_TOTAL), min: 'min(min)', max: 'max(max)', count: 'sum(count)' };

/**
 * Long ranges at coarse buckets read rollups: the coarsest resolution not larger than the
 * bucket, with the bucket rounded up to a multiple of it. Rollups lag raw data by up to one
 * aggregation interval.
 */
export function chooseSource(rangeMs: number, bucketMs: number, rawMaxRangeMs: number): { source: 'raw' | RollupResolution; bucketMs: number } {
  if (rangeMs <= rawMaxRangeMs) return { source: 'raw', bucketMs };
  const resolution = [...ROLLUP_RESOLUTIONS].reverse().find((candidate) => candidate.ms <= bucketMs);
  if (resolution === undefined) return { source: 'raw', bucketMs };
  return { source: resolution.name, bucketMs: Math.ceil(bucketMs / resolution.ms) * resolution.ms };
}

/** Labels from the canonical series key `name|service|{k="v",...}` (saves carrying jsonb through GROUP BY). */
export function labelsFromSeriesKey(seriesKey: string, name: string, service: string): Record<string, string> {
  const body = seriesKey.slice(name.length + service.length + 3, -1);
  const labels: Record<string, string> = {};
  let index = 0;
  while (index < body.length) {
    const equals = body.indexOf('=', index);
    if (equals === -1) break;
    const key = body.slice(index, equals);
    let end = equals + 2;
    while (end < body.length && body[end] !== '"') end += body[end] === '\\' ? 2 : 1;
    labels[key] = JSON.parse(body.slice(equals + 1, end + 1)) as string;
    index = end + 2;
  }
  return labels;
}

export async function querySeries(tx: Tx, tenantId: string, query: SeriesQuery, rawMaxRangeMs: number, samples: SampleSource): Promise<SeriesResult> {
  const choice = samples.kind === 'database' ? chooseSource(query.to.getTime() - query.from.getTime(), query.bucketMs, rawMaxRangeMs) : { source: 'raw' as const, bucketMs: query.bucketMs };
  const params: unknown[] = [tenantId, query.name, query.from.toISOString(), query.to.toISOString()];
  const conditions = ['tenant_id = $1', 'metric_name = $2'];
  if (query.service !== undefined) {
    params.push(query.service);
    conditions.push(`service_name = $${params.length}`);
  }
  const raw = choice.source === 'raw';
  if (raw) conditions.push('"timestamp" >= $3', '"timestamp" < $4');
  else {
    params.push(choice.source);
    conditions.push(`resolution = $${params.length}`, 'bucket_start >= $3', 'bucket_start < $4');
  }
  const table = raw ? await samples.from(tx, tenantId, { names: [query.name], service: query.service, matchers: query.matchers, from: query.from, to: query.to }, params) : 'metric_rollups';
  conditions.push(...(await matcherConditions(tx, query.matchers, params, { table, conditions })));
  params.push(choice.bucketMs);
  // date_bin works on the timestamp's integer microseconds; the epoch in ms is computed per bucket,
  // not per sample (extract() is numeric arithmetic). Grouping by the bucket first makes the sort
  // compare integers and reach the series key only on ties.
  const bucket = `date_bin(make_interval(secs => $${params.length}::float8 / 1000), ${raw ? '"timestamp"' : 'bucket_start'}, timestamptz 'epoch')`;
  const sql = `SELECT series_key, service_name, extract(epoch FROM bucket) * 1000 AS bucket, value
               FROM (SELECT ${bucket} AS bucket, series_key, service_name, ${raw ? RAW_AGGREGATE[query.aggregation] : ROLLUP_AGGREGATE[query.aggregation]} AS value
                     FROM ${table} source WHERE ${conditions.join(' AND ')}
                     GROUP BY 1, series_key, service_name) AS buckets
               ORDER BY series_key, bucket`;
  const result = await tx.query<{ series_key: string; service_name: string; bucket: number; value: number }>(sql, params);
  const series = new Map<string, Series>();
  for (const row of result.rows) {
    let entry = series.get(row.series_key);
    if (entry === undefined) {
      entry = { seriesKey: row.series_key, name: query.name, service: row.service_name, labels: labelsFromSeriesKey(row.series_key, query.name, row.service_name), points: [] };
      series.set(row.series_key, entry);
    }
    entry.points.push([Number(row.value), Number(row.bucket)]);
  }
  return { series: [...series.values()], source: choice.source, bucketMs: choice.bucketMs };
}
