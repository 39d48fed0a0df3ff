import { createHash } from 'node:crypto';
import { AppError } from '../../errors.js';
import type { Tx } from '../../platform/db/index.js';
import type { Matcher } from '../../platform/matchers/index.js';
import { seriesKeyOf } from '../sample.js';
import type { RemoteTsdb } from './remote-tsdb.js';
import { remoteSelector } from './remote-tsdb-labels.js';

/** What a reader of samples needs: the time range, and the metric names (all when absent), service and matchers that narrow it. */
export interface SampleScope {
  names?: readonly string[];
  service?: string;
  matchers?: readonly Matcher[];
  /** Unbounded when absent (the time-series database: the retention). */
  from?: Date;
  to?: Date;
}

/**
 * Where the SQL readers of samples (alert rule windows, metric lists, Grafana, dashboards,
 * reports, anomaly scoring, forecasts) read them: a FROM item with the columns of
 * metric_samples_in (id, tenant_id, metric_name, service_name, series_key, value, labels,
 * timestamp), its parameters appended to the reader's; the reader names it (PostgreSQL 15 wants an alias on a subquery). The reader's own WHERE keeps the tenant,
 * names and service, so both stores give the same SQL the same rows.
 */
export interface SampleSource {
  /** database: samples, rollups (5m/1h/1d) and metric_samples_in are in the database; remote: in the time-series database, which aggregates on read. */
  readonly kind: 'database' | 'remote';
  from(tx: Tx, tenantId: string, scope: SampleScope, params: unknown[]): Promise<string>;
  /**
   * The series seen since a time, for pickers (services, label names and values): a FROM item with
   * tenant_id, metric_name, service_name, labels and "timestamp", read with `"timestamp" >= since`;
   * `sinceParam` is that parameter's number.
   */
  seriesSeen(sinceParam: number): string;
  /**
   * Each named series' last value before `at`, however long ago (within the retention), as an SQL
   * expression of `keys.series_key`; undefined where the reader's SQL asks metric_value_before.
   */
  valuesBefore(tx: Tx, tenantId: string, names: readonly string[], at: Date, params: unknown[]): Promise<string | undefined>;
}

/** The database's samples (head, chunks and the table before them). */
export const databaseSampleSource: SampleSource = {
  kind: 'database',
  async from(_tx, _tenantId, scope, params) {
    params.push(scope.from?.toISOString() ?? '-infinity', scope.to?.toISOString() ?? 'infinity');
    return `metric_samples_in($${params.length - 1}::timestamptz, $${params.length}::timestamptz)`;
  },
  seriesSeen: (sinceParam) => `metric_samples_in($${sinceParam}::timestamptz, 'infinity')`,
  valuesBefore: async () => undefined,
};

/** A stable row id per series (48 bits of its key's hash): keyset pages over the same samples stay the same. */
const seriesIdOf = (seriesKey: string): number => Number.parseInt(createHash('sha1').update(seriesKey).digest('hex').slice(0, 12), 16);

export interface RemoteSampleSourceOptions {
  /** The most samples one read may load (PROMQL_MAX_SAMPLES); beyond, 422 QUERY_TOO_LARGE. */
  maxSamples: number;
  /** How far back an unbounded range reaches: the retention. */
  lookbackMs: number;
  now: () => number;
}

/**
 * METRICS_STORE=victoriametrics: the scope's raw samples, exported from the time-series database
 * for the caller's tenant only, handed to the reader's SQL as arrays. Readers read windows (rule
 * windows, a dashboard's period, a report's range); a read past `maxSamples` is refused.
 */
export function remoteSampleSource(tsdb: RemoteTsdb, options: RemoteSampleSourceOptions): SampleSource {
  return {
    kind: 'remote',
    async from(_tx, tenantId, scope, params) {
      const names = scope.names ?? [];
      const selectors = names.length === 0 ? ['{__name__=~".+"}'] : names.map((name) => remoteSelector(name, scope.service, scope.matchers ?? []));
      const to = scope.to?.getTime() ?? options.now();
      const from = scope.from?.getTime() ?? to - options.lookbackMs;
      const columns = { ids: [] as number[], names: [] as string[], services: [] as string[], keys: [] as string[], values: [] as number[], labels: [] as string[], times: [] as number[] };
      for (const series of await tsdb.exportSeries(tenantId, selectors, from, to)) {
        const { __name__: name = '', job: service = '', ...labels } = series.labels;
        const seriesKey = seriesKeyOf(name, service, labels);
        const seriesId = seriesIdOf(seriesKey);
        const labelsJson = JSON.stringify(labels);
        if (columns.times.length + series.times.length > options.maxSamples) {
          throw new AppError('QUERY_TOO_LARGE', `the read would load more than ${options.maxSamples} samples from the metrics store; narrow the time range or the selection`, { details: { limit: options.maxSamples } });
        }
        series.times.forEach((time, index) => {
          // Readers order by (timestamp, id): at one time, the series' hash keeps rows apart.
          columns.ids.push(seriesId);
          columns.names.push(name);
          columns.services.push(service);
          columns.keys.push(seriesKey);
          columns.values.push(series.values[index] ?? Number.NaN);
          columns.labels.push(labelsJson);
          columns.times.push(time);
        });
      }
      params.push(tenantId, columns.ids, columns.names, columns.services, columns.keys, columns.values, columns.labels, columns.times);
      const n = params.length;
      return `(SELECT u.id, $${n - 7}::uuid AS tenant_id, u.metric_name, u.service_name, u.series_key, u.value, u.labels::jsonb AS labels, to_timestamp(u.at / 1000.0) AS "timestamp"
        FROM unnest($${n - 6}::int8[], $${n - 5}::text[], $${n - 4}::text[], $${n - 3}::text[], $${n - 2}::float8[], $${n - 1}::text[], $${n}::float8[]) AS u(id, metric_name, service_name, series_key, value, labels, at))`;
    },
    // Every series the catalogue holds (the database keeps no "last seen"): pickers list them all.
    seriesSeen: () => `(SELECT tenant_id, metric_name, service_name, labels, 'infinity'::timestamptz AS "timestamp" FROM metric_series)`,
    async valuesBefore(_tx, tenantId, names, at, params) {
      const keys: string[] = [];
      const values: number[] = [];
      const lookbackSeconds = Math.ceil(options.lookbackMs / 1000);
      // One query per name (last_over_time drops the name), asked side by side.
      const answers = await Promise.all(
        names.map(async (name) => {
          // The window ends a millisecond before `at`: a sample at `at` is the period's, not before it.
          const answer = (await tsdb.read(tenantId, '/api/v1/query', [
            ['query', `last_over_time(${remoteSelector(name, undefined, [])}[${lookbackSeconds}s])`],
            ['time', String((at.getTime() - 1) / 1000)],
          ])) as { result?: Array<{ metric: Record<string, string>; value: [number, string] }> };
          return { name, answer };
        }),
      );
      for (const { name, answer } of answers) {
        for (const entry of answer.result ?? []) {
          const { __name__: _name, job: service = '', ...labels } = entry.metric;
          keys.push(seriesKeyOf(name, service, labels));
          values.push(Number(entry.value[1]));
        }
      }
      params.push(keys, values);
      return `(SELECT v.value FROM unnest($${params.length - 1}::text[], $${params.length}::float8[]) AS v(series_key, value) WHERE v.series_key = keys.series_key)`;
    },
  };
}
