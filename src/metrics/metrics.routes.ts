import { Type } from '@sinclair/typebox';
import type { FastifySchemaValidationError } from 'fastify';
import type { Container } from '../container.js';
import { principalOf, READ } from '../auth/index.js';
import { ValidationError } from '../errors.js';
import type { App } from '../platform/http/types.js';
import { IDEMPOTENCY_KEY_PATTERN } from './idempotency.js';
import { parseMatcher } from './label-matchers.js';
import { renderExposition } from './exposition.js';
import { samplesSchemaError } from './push-errors.js';
import { SampleSchema, METRIC_NAME_PATTERN } from './sample.js';
import { latestPerSeries, listSamples, metricTypes, type Cursor, type SampleFilter, type SampleRow } from './samples.repository.js';

const PushBody = Type.Union([SampleSchema, Type.Object({ metrics: Type.Array(SampleSchema, { minItems: 1 }) }, { additionalProperties: false })]);

const PushHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      pattern: IDEMPOTENCY_KEY_PATTERN,
      description:
        'Optional, 1 to 255 printable ASCII characters, unique per batch (a UUID). The same batch sent again under the key within IDEMPOTENCY_WINDOW_HOURS is stored once and answered with the first 202 and `idempotent-replayed: true`; a different batch under it gets 422 IDEMPOTENCY_KEY_REUSED. Not part of the HMAC-signed string.',
    }),
  ),
});

const StoredSampleSchema = Type.Object({
  id: Type.Number(),
  metric_name: Type.String(),
  service_name: Type.String(),
  value: Type.Number(),
  labels: Type.Record(Type.String(), Type.String()),
  timestamp: Type.String({ format: 'date-time' }),
});

const FilterQuery = {
  name: Type.Optional(Type.String({ pattern: METRIC_NAME_PATTERN, description: 'metric name' })),
  match: Type.Optional(Type.Array(Type.String({ maxLength: 600 }), { maxItems: 20, description: 'label matchers, repeatable: label="v", label!="v", label=~"re", label!~"re" (`service` matches the service name)' })),
  from: Type.Optional(Type.String({ format: 'date-time', description: 'inclusive start' })),
  to: Type.Optional(Type.String({ format: 'date-time', description: 'inclusive end' })),
};
const ListQuery = Type.Object({
  ...FilterQuery,
  service: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  cursor: Type.Optional(Type.String({ maxLength: 200, description: 'next_cursor of the previous page' })),
});
const ServiceListQuery = Type.Object({
  ...FilterQuery,
  limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
});
const LatestQuery = Type.Object({
  ...FilterQuery,
  service: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000, description: 'most series returned' }),
});
const Page = Type.Object({ data: Type.Array(StoredSampleSchema), next_cursor: Type.Union([Type.String(), Type.Null()]) });

const PUSH = { roles: ['admin', 'monitoring'], services: true, scope: 'ingest' } as const;
/** Without `from`, latest values and exports look back this far (bounded scans of recent partitions). */
const LATEST_LOOKBACK_MS = 86_400_000;

const MAX_CURSOR_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
const encodeCursor = (row: SampleRow): string => Buffer.from(`${row.timestamp.toISOString()}|${row.id}`).toString('base64url');

function decodeCursor(raw: string): Cursor {
  const [at, id] = Buffer.from(raw, 'base64url').toString('utf8').split('|');
  const timestamp = new Date(at ?? '');
  const numericId = Number(id);
  const ms = timestamp.getTime();
  // A cursor names a stored sample: years past 9999 (+275760-...) are valid JS dates that PostgreSQL cannot parse.
  if (Number.isNaN(ms) || ms < 0 || ms > MAX_CURSOR_MS || !Number.isSafeInteger(numericId)) throw new ValidationError('Invalid cursor', { field: 'cursor' });
  return { timestamp, id: numericId };
}

function filterOf(query: { name?: string; service?: string; match?: string[]; from?: string; to?: string }, defaults: { from?: Date } = {}): SampleFilter {
  const from = query.from === undefined ? defaults.from : new Date(query.from);
  const to = query.to === undefined ? undefined : new Date(query.to);
  if (from !== undefined && to !== undefined && from > to) throw new ValidationError('from must not be after to', { from: query.from, to: query.to });
  return { name: query.name, service: query.service, matchers: (query.match ?? []).map((text) => parseMatcher(text)), from, to };
}

const toJson = (row: SampleRow) => ({ id: row.id, metric_name: row.metric_name, service_name: row.service_name, value: row.value, labels: row.labels, timestamp: row.timestamp.toISOString() });

export function metricsRoutes(container: Container) {
  const page = async (tenantId: string, filter: SampleFilter, limit: number, cursor: string | undefined) => {
    const rows = await container.db.withTenant(tenantId, (tx) => listSamples(tx, tenantId, filter, { limit: limit + 1, cursor: cursor === undefined ? undefined : decodeCursor(cursor) }, container.sampleSource));
    const visible = rows.slice(0, limit);
    const last = visible[visible.length - 1];
    return { data: visible.map(toJson), next_cursor: rows.length > limit && last !== undefined ? encodeCursor(last) : null };
  };

  return async (app: App) => {
    app.post(
      '/api/v1/monitoring/metrics',
      {
        preHandler: container.auth.require(PUSH),
        // A bad sample is answered as ingest answers it (index, name, reason), not with every schema error of both body shapes.
        attachValidation: true,
        schema: {
          tags: ['metrics'],
          summary: `Push one sample or {"metrics":[...]} (at most INGEST_MAX_BATCH, default 10,000); answered after commit, all or nothing`,
          description:
            'With an `Idempotency-Key` header a retried batch is stored once: a retry gets the first answer and the response header `idempotent-replayed: true`.',
          headers: PushHeaders,
          body: PushBody,
          response: { 202: Type.Object({ accepted: Type.Integer() }) },
        },
      },
      async (request, reply) => {
        const invalid = request.validationError;
        if (invalid !== undefined) {
          const errors: readonly FastifySchemaValidationError[] = Array.isArray(invalid.validation) ? invalid.validation : [];
          throw (invalid.validationContext === 'body' ? samplesSchemaError(errors, request.body) : undefined) ?? invalid;
        }
        const principal = principalOf(request);
        const samples = 'metrics' in request.body ? request.body.metrics : [request.body];
        const result = await container.ingest.ingest(principal.tenantId, samples, 'http', { idempotencyKey: request.headers['idempotency-key'] });
        if (result.replayed === true) void reply.header('idempotent-replayed', 'true');
        return reply.status(202).send({ accepted: result.accepted });
      },
    );

    app.get(
      '/api/v1/monitoring/metrics',
      {
        preHandler: container.auth.require(READ),
        schema: { tags: ['metrics'], summary: 'Samples, newest first, with filters and cursor pagination', querystring: ListQuery, response: { 200: Page } },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        return page(tenantId, filterOf(request.query), request.query.limit, request.query.cursor);
      },
    );

    app.get(
      '/api/v1/monitoring/metrics/latest',
      {
        preHandler: container.auth.require(READ),
        schema: { tags: ['metrics'], summary: 'Latest value of every series (default: series seen in the last 24 h)', querystring: LatestQuery, response: { 200: Type.Object({ data: Type.Array(StoredSampleSchema) }) } },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        const filter = filterOf(request.query, { from: new Date(container.clock.nowMs() - LATEST_LOOKBACK_MS) });
        const rows = await container.db.withTenant(tenantId, (tx) => latestPerSeries(tx, tenantId, filter, request.query.limit, container.sampleSource));
        return { data: rows.map(toJson) };
      },
    );

    app.get(
      '/api/v1/monitoring/metrics/service/:service',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['metrics'],
          summary: 'Samples of one service, newest first, with filters and cursor pagination',
          params: Type.Object({ service: Type.String({ minLength: 1, maxLength: 100 }) }),
          querystring: ServiceListQuery,
          response: { 200: Page },
        },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        return page(tenantId, filterOf({ ...request.query, service: request.params.service }), request.query.limit, request.query.cursor);
      },
    );

    app.get(
      '/api/v1/monitoring/metrics/export',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['metrics'],
          summary: "The tenant's latest value of every series in Prometheus text format 0.0.4 (default: last 24 h)",
          querystring: LatestQuery,
          produces: ['text/plain'],
          response: { 200: Type.String() },
        },
      },
      async (request, reply) => {
        const { tenantId } = principalOf(request);
        const filter = filterOf(request.query, { from: new Date(container.clock.nowMs() - LATEST_LOOKBACK_MS) });
        const { rows, types } = await container.db.withTenant(tenantId, async (tx) => {
          const latest = await latestPerSeries(tx, tenantId, filter, request.query.limit, container.sampleSource);
          return { rows: latest, types: await metricTypes(tx, tenantId, [...new Set(latest.map((row) => row.metric_name))]) };
        });
        return reply.type('text/plain; version=0.0.4; charset=utf-8').send(renderExposition(rows, types));
      },
    );
  };
}

