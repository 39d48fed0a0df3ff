import { badData, PromqlError } from '../promql/values.js';
import type { RemoteTsdb } from '../store/remote-tsdb.js';
import { TENANT_LABEL } from '../store/remote-tsdb-labels.js';
import { matcherText } from '../../platform/matchers/index.js';
import type { SeriesData, SeriesLoader } from '../promql/evaluate.js';
import { many, parseMatchParams, parseTime, type Param } from './params.js';

type Params = Record<string, Param>;

export interface RemoteHandlerOptions {
  now: () => number;
  /** Catalogue reads (series, labels) without a start look this far back: the samples' retention, as the database keeps them. */
  lookbackMs: number;
}

const seconds = (ms: number): string => String(ms / 1000);

/**
 * The Prometheus API's catalogue reads (series, label names, label values) answered by the
 * time-series database (METRICS_STORE=victoriametrics); only the parameters named here go on, and
 * the tenant is the one the store forces, whatever the request says. Queries are not sent to it:
 * its dialect (MetricsQL) computes rate, increase, delta and the *_over_time family differently
 * from Prometheus (no extrapolation, other windows; about half of the comparison corpus differed),
 * so PromQL is evaluated here, over the samples the store exports (remoteSeriesLoader).
 */
export function remotePrometheusHandlers(tsdb: RemoteTsdb, options: RemoteHandlerOptions) {
  /** Series-catalogue reads: the request's window, or the whole retention. */
  const window = (params: Params): Array<[string, string]> => {
    const end = parseTime(params['end'], 'end', options.now());
    const start = parseTime(params['start'], 'start', end - options.lookbackMs);
    return [
      ['start', seconds(start)],
      ['end', seconds(end)],
    ];
  };
  const selectors = (params: Params, required: boolean): Array<[string, string]> => {
    parseMatchParams(params['match[]']);
    const texts = many(params['match[]']);
    if (required && texts.length === 0) throw badData('no match[] parameter provided');
    // Without a selector, every series of the tenant (the forced tenant label narrows it to them).
    return (texts.length === 0 ? ['{__name__=~".+"}'] : texts).map((text): [string, string] => ['match[]', text]);
  };

  return {
    series: (tenantId: string, params: Params) => async () => tsdb.read(tenantId, '/api/v1/series', [...selectors(params, true), ...window(params)]),
    labels: (tenantId: string, params: Params) => async () => tsdb.read(tenantId, '/api/v1/labels', [...selectors(params, false), ...window(params)]),
    // The tenant label is the store's, not the caller's to list.
    labelValues: (tenantId: string, name: string, params: Params) => async () => (name === TENANT_LABEL ? [] : tsdb.read(tenantId, `/api/v1/label/${encodeURIComponent(name)}/values`, [...selectors(params, false), ...window(params)])),
  };
}

/** The PromQL engine's loader over the time-series database: each selector's raw samples in [from, to], of the tenant only. */
export function remoteSeriesLoader(tsdb: RemoteTsdb, tenantId: string, maxSeries: number): SeriesLoader {
  return async (selector, from, to): Promise<SeriesData[]> => {
    const text = `{${selector.matchers.map((matcher) => matcherText(matcher)).join(',')}}`;
    const series = await tsdb.exportSeries(tenantId, [text], from, to);
    if (series.length > maxSeries) throw new PromqlError('execution', `the selector reads more than ${maxSeries} series of the tenant; name the metric`);
    return series.filter((entry) => entry.times.length > 0);
  };
}
