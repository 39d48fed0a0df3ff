import { Type } from '@sinclair/typebox';
import type { Container } from '../../container.js';
import { principalOf, READ } from '../../auth/index.js';
import type { App } from '../../platform/http/types.js';
import { listResults } from './analysis.repository.js';

const Kind = Type.Union([Type.Literal('payment_failure_rate'), Type.Literal('latency_p95'), Type.Literal('sellout')]);
const Nullable = <T extends ReturnType<typeof Type.Number> | ReturnType<typeof Type.String>>(schema: T) => Type.Union([schema, Type.Null()]);

export function mlAnalysisRoutes(container: Container) {
  return async (app: App) => {
    app.get(
      '/api/v1/analytics/ml-analysis',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['analytics'],
          summary: 'Results of the ml-analysis job (payment failure rates, p95 latencies, sellout predictions), newest run first',
          querystring: Type.Object({ kind: Type.Optional(Kind), anomalous: Type.Boolean({ default: false }), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
          response: {
            200: Type.Object({
              data: Type.Array(
                Type.Object({
                  id: Type.String({ format: 'uuid' }),
                  run_at: Type.String({ format: 'date-time' }),
                  kind: Kind,
                  subject: Type.String(),
                  bucket_start: Nullable(Type.String({ format: 'date-time' })),
                  value: Nullable(Type.Number()),
                  score: Nullable(Type.Number()),
                  anomalous: Type.Boolean(),
                  details: Type.Record(Type.String(), Type.Unknown()),
                }),
              ),
            }),
          },
        },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        const q = request.query;
        const rows = await container.db.withTenant(tenantId, (tx) => listResults(tx, tenantId, { kind: q.kind, anomalousOnly: q.anomalous, limit: q.limit }));
        return { data: rows.map((row) => ({ ...row, run_at: new Date(row.run_at).toISOString(), bucket_start: row.bucket_start === null ? null : new Date(row.bucket_start).toISOString() })) };
      },
    );
  };
}
