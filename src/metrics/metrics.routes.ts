import { Type } from '@sinclair/typebox';
import type { Container } from '../container.js';
import { principalOf, READ } from '../auth/index.js';
import type { App } from '../platform/http/types.js';
import { SampleSchema, METRIC_NAME_PATTERN } from './sample.js';

const PushBody = Type.Union([SampleSchema, Type.Object({ metrics: Type.Array(SampleSchema, { minItems: 1 }) }, { additionalProperties: false })]);

const StoredSampleSchema = Type.Object({
  id: Type.Number(),
  metric_name: Type.String(),
  service_name: Type.String(),
  value: Type.Number(),
  labels: Type.Record(Type.String(), Type.String()),
  timestamp: Type.String({ format: 'date-time' }),
});

const PUSH = { roles: ['admin', 'monitoring'], services: true } as const;

export function metricsRoutes(container: Container) {
  return async (app: App) => {
    app.post(
      '/api/v1/monitoring/metrics',
      {
        preHandler: container.auth.require(PUSH),
        schema: {
          tags: ['metrics'],
          summary: 'Push one sample or a batch; answered after commit, all or nothing',
          body: PushBody,
          response: { 202: Type.Object({ accepted: Type.Integer() }) },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const samples = 'metrics' in request.body ? request.body.metrics : [request.body];
        const result = await container.ingest.ingest(principal.tenantId, samples, 'http');
        return reply.status(202).send(result);
      },
    );

    app.get(
      '/api/v1/monitoring/metrics',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['metrics'],
          summary: 'Recent samples, newest first',
          querystring: Type.Object({
            name: Type.Optional(Type.String({ pattern: METRIC_NAME_PATTERN })),
            service: Type.Optional(Type.String()),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          }),
          response: { 200: Type.Object({ data: Type.Array(StoredSampleSchema) }) },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const { name, service, limit } = request.query;
        const rows = await container.db.withTenant(principal.tenantId, (tx) =>
          tx.query<{ id: number; metric_name: string; service_name: string; value: number; labels: Record<string, string>; timestamp: Date }>(
            `SELECT id, metric_name, service_name, value, labels, "timestamp" FROM metrics
             WHERE tenant_id = $1 AND ($2::text IS NULL OR metric_name = $2) AND ($3::text IS NULL OR service_name = $3)
             ORDER BY "timestamp" DESC, id DESC LIMIT $4`,
            [principal.tenantId, name ?? null, service ?? null, limit],
          ),
        );
        return { data: rows.rows.map((row) => ({ ...row, timestamp: row.timestamp.toISOString() })) };
      },
    );
  };
}
