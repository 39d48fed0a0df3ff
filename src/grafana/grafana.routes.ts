import { Type } from '@sinclair/typebox';
import type { Container } from '../container.js';
import { principalOf, READ } from '../auth/index.js';
import { ValidationError } from '../errors.js';
import { labelKeys, labelValues, metricNames, serviceNames } from '../metrics/index.js';
import type { App } from '../platform/http/types.js';
import { alertAnnotations, fraudAnnotations } from './annotations.repository.js';
import { runGrafanaQuery } from './grafana-query.js';
import {
  AnnotationSchema,
  AnnotationsBodySchema,
  PayloadOptionsBodySchema,
  QueryBodySchema,
  QueryResponseSchema,
  SearchBodySchema,
  TagValuesBodySchema,
  VariableBodySchema,
} from './grafana.schemas.js';

/** Tag keys, tag values and variables look at series seen this recently. */
const DISCOVERY_LOOKBACK_MS = 86_400_000;
const AGGREGATION_OPTIONS = ['avg', 'sum', 'min', 'max', 'count'].map((value) => ({ label: value, value }));
const VARIABLE = /^\s*(metrics|services|label_values)\s*(?:\(\s*([^)]*?)\s*\))?\s*$/;

/**
 * The Grafana data source under /grafana: the SimpleJSON protocol and the JSON API protocol
 * that replaced it (see README). Every route is scoped to the tenant of the bearer token that
 * Grafana sends (a custom `Authorization` header in the data-source settings).
 */
export function grafanaRoutes(container: Container) {
  const auth = container.auth.require(READ);
  const tags = ['grafana'];
  const since = () => new Date(container.clock.nowMs() - DISCOVERY_LOOKBACK_MS);
  const withTenant = <T>(tenantId: string, work: Parameters<typeof container.db.withTenant<T>>[1]) => container.db.withTenant(tenantId, work);

  return async (app: App) => {
    for (const url of ['/grafana', '/grafana/']) {
      app.get(url, { preHandler: auth, schema: { tags, summary: 'Data-source test: 200 when the token is valid', response: { 200: Type.Object({ status: Type.Literal('ok') }) } } }, async () => ({ status: 'ok' as const }));
    }

    const listMetrics = async (tenantId: string, contains: string | undefined) => withTenant(tenantId, (tx) => metricNames(tx, tenantId, contains === '' ? undefined : contains, 1_000));

    app.post('/grafana/search', { preHandler: auth, schema: { tags, summary: 'SimpleJSON: metric names containing `target`', body: SearchBodySchema, response: { 200: Type.Array(Type.String()) } } }, async (request) =>
      listMetrics(principalOf(request).tenantId, request.body.target),
    );

    app.post(
      '/grafana/metrics',
      {
        preHandler: auth,
        schema: {
          tags,
          summary: 'JSON API: metrics with their payload options (service, aggregation, alias)',
          body: SearchBodySchema,
          response: { 200: Type.Array(Type.Object({ label: Type.String(), value: Type.String(), payloads: Type.Array(Type.Unknown()) })) },
        },
      },
      async (request) => {
        const names = await listMetrics(principalOf(request).tenantId, request.body.target ?? request.body.metric);
        return names.map((name) => ({
          label: name,
          value: name,
          payloads: [
            { name: 'service', label: 'Service', type: 'select', placeholder: 'all services', reloadMetric: true },
            { name: 'aggregation', label: 'Aggregation', type: 'select', options: AGGREGATION_OPTIONS },
            { name: 'alias', label: 'Alias', type: 'input', placeholder: 'series name' },
          ],
        }));
      },
    );

    app.post(
      '/grafana/metric-payload-options',
      { preHandler: auth, schema: { tags, summary: 'JSON API: options of one payload field', body: PayloadOptionsBodySchema, response: { 200: Type.Array(Type.Object({ label: Type.String(), value: Type.String() })) } } },
      async (request) => {
        const { tenantId } = principalOf(request);
        const { metric, name } = request.body;
        if (name === 'aggregation') return AGGREGATION_OPTIONS;
        const values = await withTenant(tenantId, (tx) => (name === 'service' ? serviceNames(tx, tenantId, metric, since(), container.sampleSource) : labelValues(tx, tenantId, name, metric, since(), container.sampleSource)));
        return values.map((value) => ({ label: value, value }));
      },
    );

    app.post('/grafana/query', { preHandler: auth, schema: { tags, summary: 'Time series and tables, bucketed to intervalMs/maxDataPoints', body: QueryBodySchema, response: { 200: QueryResponseSchema } } }, async (request) => {
      const { tenantId } = principalOf(request);
      return withTenant(tenantId, (tx) => runGrafanaQuery(tx, tenantId, request.body, container.config.METRICS_RAW_QUERY_MAX_RANGE_MS, container.sampleSource));
    });

    app.options('/grafana/annotations', { schema: { tags, summary: 'CORS preflight for direct browser access' } }, async (_request, reply) =>
      reply.header('access-control-allow-headers', 'accept, content-type, authorization').header('access-control-allow-methods', 'POST').header('access-control-allow-origin', '*').status(200).send(),
    );

    app.post(
      '/grafana/annotations',
      {
        preHandler: auth,
        schema: { tags, summary: 'Fraud events and alerts of the range; annotation.query "fraud", "alerts" or empty for both', body: AnnotationsBodySchema, response: { 200: Type.Array(AnnotationSchema) } },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        const from = new Date(request.body.range.from);
        const to = new Date(request.body.range.to);
        if (from > to) throw new ValidationError('range.from must not be after range.to', { range: request.body.range });
        const query = (request.body.annotation.query ?? '').toLowerCase();
        const wantsFraud = query === '' || query.includes('fraud');
        const wantsAlerts = query === '' || query.includes('alert');
        const rows = await withTenant(tenantId, async (tx) => [
          ...(wantsFraud ? await fraudAnnotations(tx, tenantId, from, to, 1_000) : []),
          ...(wantsAlerts ? await alertAnnotations(tx, tenantId, from, to, 1_000) : []),
        ]);
        return rows.sort((a, b) => b.time - a.time).map((row) => ({ annotation: request.body.annotation, ...row }));
      },
    );

    app.post('/grafana/tag-keys', { preHandler: auth, schema: { tags, summary: 'Ad-hoc filter keys: label names and `service`', response: { 200: Type.Array(Type.Object({ type: Type.String(), text: Type.String() })) } } }, async (request) => {
      const { tenantId } = principalOf(request);
      const keys = await withTenant(tenantId, (tx) => labelKeys(tx, tenantId, undefined, since(), container.sampleSource));
      return ['service', ...keys.filter((key) => key !== 'service')].map((text) => ({ type: 'string', text }));
    });

    app.post('/grafana/tag-values', { preHandler: auth, schema: { tags, summary: 'Ad-hoc filter values of one key', body: TagValuesBodySchema, response: { 200: Type.Array(Type.Object({ text: Type.String() })) } } }, async (request) => {
      const { tenantId } = principalOf(request);
      const { key } = request.body;
      const values = await withTenant(tenantId, (tx) => (key === 'service' ? serviceNames(tx, tenantId, undefined, since(), container.sampleSource) : labelValues(tx, tenantId, key, undefined, since(), container.sampleSource)));
      return values.map((text) => ({ text }));
    });

    app.post(
      '/grafana/variable',
      {
        preHandler: auth,
        schema: { tags, summary: 'Template variables: metrics[(text)], services[(metric)], label_values([metric,] key)', body: VariableBodySchema, response: { 200: Type.Array(Type.Object({ __text: Type.String(), __value: Type.String() })) } },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        const payload = request.body.payload;
        const text = (typeof payload === 'string' ? payload : payload?.target) ?? request.body.target ?? '';
        const match = VARIABLE.exec(text);
        if (match === null) throw new ValidationError('Unknown variable query; use metrics, metrics(text), services, services(metric), label_values(key) or label_values(metric, key)', { query: text });
        const [, kind, rawArgs] = match;
        const args = (rawArgs ?? '').split(',').map((arg) => arg.trim()).filter((arg) => arg.length > 0);
        const values = await withTenant(tenantId, async (tx) => {
          if (kind === 'metrics') return metricNames(tx, tenantId, args[0], 1_000);
          if (kind === 'services') return serviceNames(tx, tenantId, args[0], since(), container.sampleSource);
          const key = args.length > 1 ? args[1] : args[0];
          if (key === undefined) throw new ValidationError('label_values needs a label name', { query: text });
          return labelValues(tx, tenantId, key, args.length > 1 ? args[0] : undefined, since(), container.sampleSource);
        });
        return values.map((value) => ({ __text: value, __value: value }));
      },
    );
  };
}
