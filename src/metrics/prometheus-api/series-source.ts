import { compileMatchers, type Matcher } from '../../platform/matchers/index.js';
import type { Db } from '../../platform/db/index.js';
import type { SeriesData, SeriesLoader } from '../promql/evaluate.js';
import { badData, PromqlError, type Labels } from '../promql/values.js';
import { samplesOf, tenantSeries, type SeriesRow } from './series.repository.js';

/**
 * The service's series as Prometheus sees them: `__name__` is the metric name, `job` the service,
 * then the labels (a pushed label named job gives way to the service).
 */
export const prometheusLabels = (row: Pick<SeriesRow, 'metric_name' | 'service_name' | 'labels'>): Labels => ({ ...row.labels, __name__: row.metric_name, job: row.service_name });

export interface SeriesSource {
  /** The tenant's series every matcher holds for (all series of the tenant when `matchers` is empty). */
  series(matchers: readonly Matcher[]): Promise<Array<{ row: SeriesRow; labels: Labels }>>;
  /** The PromQL engine's loader: the matched series with their samples in [from, to]. */
  loader: SeriesLoader;
}

/** Reads one tenant's series and samples for the Prometheus API; the tenant is always the caller's. */
export function createSeriesSource(db: Db, tenantId: string, limits: { maxSeries: number }): SeriesSource {
  const series = async (matchers: readonly Matcher[]) => {
    let holds;
    try {
      holds = compileMatchers(matchers, 'match[]');
    } catch (error) {
      throw badData(error instanceof Error ? error.message : String(error));
    }
    const name = matchers.find((matcher) => matcher.name === '__name__' && !matcher.is_regex && matcher.is_equal !== false)?.value;
    const rows = await db.withTenant(tenantId, (tx) => tenantSeries(tx, tenantId, name, limits.maxSeries + 1));
    if (rows.length > limits.maxSeries) throw new PromqlError('execution', `the selector reads more than ${limits.maxSeries} series of the tenant; name the metric`);
    return rows.map((row) => ({ row, labels: prometheusLabels(row) })).filter((entry) => holds(entry.labels));
  };

  return {
    series,
    loader: async (selector, from, to): Promise<SeriesData[]> => {
      const matched = await series(selector.matchers);
      const keys = matched.map((entry) => entry.row.series_key);
      const samples = await db.withTenant(tenantId, (tx) => samplesOf(tx, tenantId, keys, new Date(from), new Date(to)));
      const byKey = new Map(matched.map((entry): [string, SeriesData] => [entry.row.series_key, { labels: entry.labels, times: [], values: [] }]));
      for (const row of samples) {
        const data = byKey.get(row.series_key);
        if (data === undefined) continue;
        data.times = row.times.map(Math.round);
        data.values = row.values;
      }
      return [...byKey.values()].filter((data) => data.times.length > 0);
    },
  };
}
