import { ValidationError } from '../errors.js';
import { latestPerSeries, METRIC_NAME_PATTERN, parseMatcher, querySeries, type SampleSource, type Series } from '../metrics/index.js';
import type { Tx } from '../platform/db/index.js';
import { spellNonFinite, type NonFinite } from '../platform/non-finite.js';
import { compileValuePredicate, isMatchOp, matcherOf, type Matcher } from '../platform/matchers/index.js';
import { Value } from '@sinclair/typebox/value';
import { TargetPayloadSchema, type AdhocFilter, type QueryBody, type Target, type TargetPayload } from './grafana.schemas.js';

const METRIC_NAME = new RegExp(METRIC_NAME_PATTERN);
/** Finest bucket answered, whatever Grafana asks. */
const MIN_BUCKET_MS = 1_000;

export type QueryResult =
  | { target: string; refId?: string; datapoints: Array<[number | null, number]>; non_finite?: Array<[NonFinite, number]> }
  | { type: 'table'; refId?: string; columns: Array<{ text: string; type: string }>; rows: Array<Array<string | number>> };

/** Ad-hoc filters (`adhocFilters` of SimpleJSON, `filters` of JSON API) as the service's label matchers. */
export function filtersToMatchers(filters: readonly AdhocFilter[]): Matcher[] {
  return filters.map((filter, index) => {
    const { operator } = filter;
    if (!isMatchOp(operator)) {
      throw new ValidationError(`Ad-hoc filter operator ${JSON.stringify(operator)} is not supported; use =, !=, =~ or !~`, { field: `filters/${index}`, operator });
    }
    const matcher = matcherOf(filter.key, operator, filter.value);
    compileValuePredicate(matcher, `filters/${index}`);
    return matcher;
  });
}

/** Bucket width: Grafana's interval, widened so a range never yields more than maxDataPoints. */
export function bucketOf(body: Pick<QueryBody, 'intervalMs' | 'maxDataPoints'>, rangeMs: number): number {
  const interval = body.intervalMs ?? 60_000;
  const byPoints = body.maxDataPoints === undefined ? 0 : Math.ceil(rangeMs / body.maxDataPoints);
  return Math.max(MIN_BUCKET_MS, Math.ceil(interval), byPoints);
}

function payloadOf(target: Target): TargetPayload {
  if (typeof target.payload === 'string') {
    if (target.payload.trim() === '') return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(target.payload);
    } catch {
      // Grafana's raw-JSON editor sends text; text that is not JSON is a user error.
      throw new ValidationError('Target payload is not JSON', { refId: target.refId });
    }
    if (!Value.Check(TargetPayloadSchema, parsed)) {
      throw new ValidationError('Target payload is not a valid payload object', { refId: target.refId, errors: [...Value.Errors(TargetPayloadSchema, parsed)].map((error) => `${error.path} ${error.message}`) });
    }
    return parsed;
  }
  return target.payload ?? target.data ?? {};
}

export function seriesName(series: Series): string {
  const parts = [`service="${series.service}"`, ...Object.keys(series.labels).sort().map((key) => `${key}="${series.labels[key] ?? ''}"`)];
  return `${series.name}{${parts.join(',')}}`;
}

/** A sum past the double range is a null datapoint (Grafana draws a gap), spelled out in `non_finite` as [value, time]. */
function datapointsOf(points: ReadonlyArray<[number, number]>): { datapoints: Array<[number | null, number]>; non_finite?: Array<[NonFinite, number]> } {
  const nonFinite = points.flatMap(([value, at]): Array<[NonFinite, number]> => (Number.isFinite(value) ? [] : [[spellNonFinite(value), at]]));
  if (nonFinite.length === 0) return { datapoints: [...points] };
  return { datapoints: points.map(([value, at]) => [Number.isFinite(value) ? value : null, at]), non_finite: nonFinite };
}

/** Runs every visible target; unknown metrics and empty ranges give no series, not errors. */
export async function runGrafanaQuery(tx: Tx, tenantId: string, body: QueryBody, rawMaxRangeMs: number, samples: SampleSource): Promise<QueryResult[]> {
  const from = new Date(body.range.from);
  const to = new Date(body.range.to);
  if (from > to) throw new ValidationError('range.from must not be after range.to', { range: body.range });
  const adhoc = filtersToMatchers([...(body.adhocFilters ?? []), ...(body.filters ?? [])]);
  const bucketMs = bucketOf(body, to.getTime() - from.getTime());
  const results: QueryResult[] = [];
  for (const target of body.targets) {
    const name = target.target?.trim() ?? '';
    if (target.hide === true || name === '' || name === 'select metric') continue;
    if (!METRIC_NAME.test(name)) throw new ValidationError(`Target ${JSON.stringify(name)} is not a metric name`, { refId: target.refId });
    const payload = payloadOf(target);
    const matchers = [...adhoc, ...(payload.match ?? []).map((text) => parseMatcher(text, 'payload.match'))];
    if (target.type === 'table') {
      const rows = await latestPerSeries(tx, tenantId, { name, service: payload.service, matchers, from, to }, 10_000, samples);
      results.push({
        type: 'table',
        refId: target.refId,
        columns: [
          { text: 'Time', type: 'time' },
          { text: 'Metric', type: 'string' },
          { text: 'Service', type: 'string' },
          { text: 'Labels', type: 'string' },
          { text: 'Value', type: 'number' },
        ],
        rows: rows.map((row) => [row.timestamp.getTime(), row.metric_name, row.service_name, JSON.stringify(row.labels), row.value]),
      });
      continue;
    }
    const result = await querySeries(tx, tenantId, { name, service: payload.service, matchers, from, to, bucketMs, aggregation: payload.aggregation ?? 'avg' }, rawMaxRangeMs, samples);
    for (const series of result.series) {
      results.push({ target: payload.alias ?? seriesName(series), refId: target.refId, ...datapointsOf(series.points) });
    }
  }
  return results;
}
