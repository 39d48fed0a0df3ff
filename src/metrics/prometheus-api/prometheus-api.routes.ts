import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { principalOf, READ, type Authenticator } from '../../auth/index.js';
import type { Db } from '../../platform/db/index.js';
import type { App } from '../../platform/http/types.js';
import { Evaluator } from '../promql/evaluate.js';
import { parsePromql } from '../promql/parse.js';
import { badData, compareLabels, PromqlError } from '../promql/values.js';
import { formatResult } from './format.js';
import { parseMatchParams, parseStep, parseTime, queryParam, type Param } from './params.js';
import { remotePrometheusHandlers, remoteSeriesLoader } from './remote-handlers.js';
import { createSeriesSource } from './series-source.js';
import type { RemoteTsdb } from '../store/remote-tsdb.js';

export interface PrometheusApiDeps {
  auth: Authenticator;
  db: Db;
  now: () => number;
  /** PROMQL_MAX_SAMPLES, PROMQL_TIMEOUT_MS, PROMQL_MAX_SERIES. */
  limits: { maxSamples: number; timeoutMs: number; maxSeries: number };
  version: string;
  /** METRICS_STORE=victoriametrics: PromQL reads its exported samples; series and labels are its answers. */
  remoteTsdb?: RemoteTsdb;
  /** How far back series and labels are listed from the time-series database when the request gives no start (the retention). */
  lookbackMs: number;
}

/** Prometheus answers at most this many points per series in a range query. */
const MAX_POINTS = 11_000;
const ParamValue = Type.Union([Type.String(), Type.Array(Type.String())]);
const QueryParams = Type.Object(
  { query: Type.Optional(ParamValue), time: Type.Optional(ParamValue), start: Type.Optional(ParamValue), end: Type.Optional(ParamValue), step: Type.Optional(ParamValue), timeout: Type.Optional(ParamValue), 'match[]': Type.Optional(ParamValue), metric: Type.Optional(ParamValue), limit: Type.Optional(ParamValue) },
  { additionalProperties: true },
);
type Params = Record<string, Param>;

const STATUS = { bad_data: 400, execution: 422, timeout: 503 } as const;

/** Prometheus's error envelope for what the query language refuses. */
async function answer(reply: FastifyReply, work: () => Promise<unknown>): Promise<unknown> {
  try {
    return { status: 'success', data: await work() };
  } catch (error) {
    if (!(error instanceof PromqlError)) throw error;
    return reply.status(STATUS[error.type]).send({ status: 'error', errorType: error.type, error: error.message });
  }
}

/**
 * The Prometheus HTTP API over the caller tenant's series, for Grafana's Prometheus data source,
 * promtool and anything else that speaks it: query, query_range, series, labels, label values,
 * metadata and buildinfo, GET or POST (form). The tenant is the credential's, never a label.
 */
export function prometheusApiRoutes(deps: PrometheusApiDeps) {
  const source = (tenantId: string) => createSeriesSource(deps.db, tenantId, { maxSeries: deps.limits.maxSeries });
  const timeoutOf = (params: Params) => (params['timeout'] === undefined ? deps.limits.timeoutMs : Math.min(deps.limits.timeoutMs, parseStep(params['timeout'], 'timeout')));
  const remote = deps.remoteTsdb === undefined ? undefined : remotePrometheusHandlers(deps.remoteTsdb, { now: deps.now, lookbackMs: deps.lookbackMs });
  /** The engine's samples: the database's series of the tenant, or what the time-series database exports for it. */
  const loaderOf = (tenantId: string) => (deps.remoteTsdb === undefined ? source(tenantId).loader : remoteSeriesLoader(deps.remoteTsdb, tenantId, deps.limits.maxSeries));

  const query = (tenantId: string, params: Params) => async () => {
    const expr = parsePromql(queryParam(params['query']));
    const time = parseTime(params['time'], 'time', deps.now());
    const evaluator = new Evaluator({ start: time, end: time, step: 1 }, { maxSamples: deps.limits.maxSamples, timeoutMs: timeoutOf(params) });
    await evaluator.load(expr, loaderOf(tenantId));
    return formatResult(evaluator.instantQuery(expr, time), time);
  };

  const queryRange = (tenantId: string, params: Params) => async () => {
    const expr = parsePromql(queryParam(params['query']));
    const start = parseTime(params['start'], 'start');
    const end = parseTime(params['end'], 'end');
    const step = parseStep(params['step'], 'step');
    if (end < start) throw badData('invalid parameter "end": end timestamp must not be before start time');
    if ((end - start) / step > MAX_POINTS) throw badData(`exceeded maximum resolution of ${MAX_POINTS.toLocaleString('en-US')} points per timeseries. Try decreasing the query resolution (?step=XX)`);
    const evaluator = new Evaluator({ start, end, step }, { maxSamples: deps.limits.maxSamples, timeoutMs: timeoutOf(params) });
    await evaluator.load(expr, loaderOf(tenantId));
    const result = await evaluator.rangeQuery(expr);
    if (result.resultType === 'matrix') result.result.sort((a, b) => compareLabels(a.labels, b.labels));
    return formatResult(result, end);
  };

  /** The series of any `match[]` (all of the tenant's without one). */
  const matched = async (tenantId: string, params: Params, required: boolean) => {
    const selectors = parseMatchParams(params['match[]']);
    if (required && selectors.length === 0) throw badData('no match[] parameter provided');
    const found = source(tenantId);
    const lists = selectors.length === 0 ? [await found.series([])] : await Promise.all(selectors.map((matchers) => found.series(matchers)));
    const unique = new Map(lists.flat().map((entry) => [entry.row.series_key, entry]));
    return [...unique.values()];
  };

  const routes: Array<{ path: string; summary: string; handle: (tenantId: string, params: Params, pathName?: string) => () => Promise<unknown> }> = [
    { path: '/api/v1/query', summary: 'PromQL instant query (query, time, timeout)', handle: query },
    { path: '/api/v1/query_range', summary: 'PromQL range query (query, start, end, step, timeout)', handle: queryRange },
    {
      path: '/api/v1/series',
      summary: 'Series matching the match[] selectors',
      handle: remote?.series ?? ((tenantId, params) => async () => (await matched(tenantId, params, true)).map((entry) => entry.labels).sort(compareLabels)),
    },
    {
      path: '/api/v1/labels',
      summary: 'Label names (of the series matching match[], when given)',
      handle: remote?.labels ?? ((tenantId, params) => async () => [...new Set((await matched(tenantId, params, false)).flatMap((entry) => Object.keys(entry.labels)))].sort()),
    },
  ];

  return async (app: App) => {
    // POST forms (Grafana sends long queries so): application/x-www-form-urlencoded, repeated names as lists.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      const form: Params = {};
      for (const [name, value] of new URLSearchParams(typeof body === 'string' ? body : body.toString('utf8'))) {
        const known = form[name];
        form[name] = known === undefined ? value : [...(Array.isArray(known) ? known : [known]), value];
      }
      done(null, form);
    });
    for (const route of routes) {
      for (const method of ['GET', 'POST'] as const) {
        app.route({
          method,
          url: route.path,
          preHandler: deps.auth.require(READ),
          schema: { tags: ['prometheus'], summary: route.summary, querystring: QueryParams },
          handler: async (request, reply) => {
            const params = { ...(request.query as Params), ...(method === 'POST' && typeof request.body === 'object' && request.body !== null ? (request.body as Params) : {}) };
            return answer(reply, route.handle(principalOf(request).tenantId, params));
          },
        });
      }
    }
    app.get(
      '/api/v1/label/:name/values',
      { preHandler: deps.auth.require(READ), schema: { tags: ['prometheus'], summary: 'Values of one label (of the series matching match[], when given)', params: Type.Object({ name: Type.String({ maxLength: 200 }) }), querystring: QueryParams } },
      async (request, reply) =>
        answer(reply, async () => {
          const name = request.params.name;
          if (remote !== undefined) return remote.labelValues(principalOf(request).tenantId, name, request.query)();
          const series = await matched(principalOf(request).tenantId, request.query, false);
          return [...new Set(series.map((entry) => entry.labels[name]).filter((value): value is string => value !== undefined && value !== ''))].sort();
        }),
    );
    app.get(
      '/api/v1/metadata',
      { preHandler: deps.auth.require(READ), schema: { tags: ['prometheus'], summary: 'Type, help and unit per metric name, where an ingest path carried them', querystring: QueryParams } },
      async (request, reply) =>
        answer(reply, async () => {
          const params = request.query as Params;
          const metric = typeof params['metric'] === 'string' ? params['metric'] : undefined;
          // A family's series: the name itself, or a histogram's or summary's parts.
          const family = metric === undefined ? [] : [{ name: '__name__', value: `${metric.replace(/[^a-zA-Z0-9_:]/g, '')}(_bucket|_sum|_count)?`, is_regex: true }];
          const series = await source(principalOf(request).tenantId).series(family);
          const metadata: Record<string, Array<{ type: string; help: string; unit: string }>> = {};
          for (const { row } of series) {
            if (row.metric_type === null) continue;
            // Per family, as Prometheus answers: a histogram's or summary's series under its family name.
            const name = row.metric_type === 'histogram' || row.metric_type === 'summary' ? row.metric_name.replace(/_(bucket|sum|count)$/, '') : row.metric_name;
            metadata[name] ??= [{ type: row.metric_type, help: row.help ?? '', unit: row.unit ?? '' }];
          }
          if (metric !== undefined) for (const name of Object.keys(metadata)) if (name !== metric) delete metadata[name];
          return metadata;
        }),
    );
    app.get(
      '/api/v1/status/buildinfo',
      { preHandler: deps.auth.require(READ), schema: { tags: ['prometheus'], summary: 'Build information, in the shape Grafana reads to pick the Prometheus API level' } },
      async () => ({ status: 'success', data: { version: '2.42.0', revision: deps.version, branch: 'monitoring-service', buildUser: 'monitoring-service', buildDate: '', goVersion: '', application: 'monitoring-service' } }),
    );
  };
}
