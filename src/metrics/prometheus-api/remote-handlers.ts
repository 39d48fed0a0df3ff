import { parsePromql } from '../promql/parse.js';
import { badData } from '../promql/values.js';
import type { RemoteTsdb } from '../store/remote-tsdb.js';
import { TENANT_LABEL } from '../store/remote-tsdb-labels.js';
import { many, parseMatchParams, parseStep, parseTime, queryParam, type Param } from './params.js';

type Params = Record<string, Param>;

export interface RemoteHandlerOptions {
  now: () => number;
  /** Catalogue reads (series, labels) without a start look this far back: the samples' retention, as the database keeps them. */
  lookbackMs: number;
  /** The longest a query may take (PROMQL_TIMEOUT_MS, or less when the request asks). */
  timeoutOf: (params: Params) => number;
  maxPoints: number;
}

const seconds = (ms: number): string => String(ms / 1000);

/**
 * The Prometheus API answered by the time-series database (METRICS_STORE=victoriametrics). Each
 * request is checked here as the service's own engine checks it (PromQL, not the database's wider
 * dialect, so a query means the same on either store), and only the parameters named here go on:
 * the tenant is the one the store forces, whatever the request says.
 */
export function remotePrometheusHandlers(tsdb: RemoteTsdb, options: RemoteHandlerOptions) {
  const timeout = (params: Params): [string, string] => ['timeout', `${options.timeoutOf(params)}ms`];
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
    query: (tenantId: string, params: Params) => async () => {
      const text = queryParam(params['query']);
      parsePromql(text);
      const time = parseTime(params['time'], 'time', options.now());
      return tsdb.read(tenantId, '/api/v1/query', [['query', text], ['time', seconds(time)], timeout(params)]);
    },
    queryRange: (tenantId: string, params: Params) => async () => {
      const text = queryParam(params['query']);
      parsePromql(text);
      const start = parseTime(params['start'], 'start');
      const end = parseTime(params['end'], 'end');
      const step = parseStep(params['step'], 'step');
      if (end < start) throw badData('invalid parameter "end": end timestamp must not be before start time');
      if ((end - start) / step > options.maxPoints) throw badData(`exceeded maximum resolution of ${options.maxPoints.toLocaleString('en-US')} points per timeseries. Try decreasing the query resolution (?step=XX)`);
      return tsdb.read(tenantId, '/api/v1/query_range', [['query', text], ['start', seconds(start)], ['end', seconds(end)], ['step', seconds(step)], timeout(params)]);
    },
    series: (tenantId: string, params: Params) => async () => tsdb.read(tenantId, '/api/v1/series', [...selectors(params, true), ...window(params)]),
    labels: (tenantId: string, params: Params) => async () => tsdb.read(tenantId, '/api/v1/labels', [...selectors(params, false), ...window(params)]),
    // The tenant label is the store's, not the caller's to list.
    labelValues: (tenantId: string, name: string, params: Params) => async () => (name === TENANT_LABEL ? [] : tsdb.read(tenantId, `/api/v1/label/${encodeURIComponent(name)}/values`, [...selectors(params, false), ...window(params)])),
  };
}
