import { Type, type TSchema } from '@sinclair/typebox';
import { principalOf, READ } from '../auth/index.js';
import { readThrough, READ_TTL_MS } from '../cache-admin/read-cache.js';
import type { Container } from '../container.js';
import { ValidationError } from '../errors.js';
import type { App } from '../platform/http/types.js';
import type { SlaService } from './sla.service.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const ViolationSchema = Type.Object({ type: Type.Union([Type.Literal('uptime'), Type.Literal('response_time_p95')]), target: Type.Number(), actual: Type.Number() });

const SlaEntrySchema = Type.Object({
  service_name: Type.String(),
  uptime_percentage: Nullable(Type.Number()),
  checks_total: Type.Integer(),
  checks_up: Type.Integer(),
  response_time_p95: Nullable(Type.Number()),
  requests_total: Type.Integer(),
  target_uptime_percentage: Type.Number(),
  target_response_time_ms: Type.Number(),
  violations: Type.Array(ViolationSchema),
  compliant: Nullable(Type.Boolean()),
});

const StoredSchema = Type.Object({
  service_name: Type.String(),
  period_start: Type.String({ format: 'date-time' }),
  period_end: Type.String({ format: 'date-time' }),
  uptime_percentage: Nullable(Type.Number()),
  response_time_p95: Nullable(Type.Number()),
  target_uptime_percentage: Type.Number(),
  target_response_time_ms: Type.Number(),
  checks_total: Type.Integer(),
  violations: Type.Array(ViolationSchema),
});

export const SlaResponseSchema = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  services: Type.Array(SlaEntrySchema),
  /** Periods computed by the daily job that lie inside the range. */
  history: Type.Array(StoredSchema),
});

const MAX_RANGE_MS = 400 * 86_400_000;

/** from/to of a dashboard query: default the last `defaultMs` up to now, `to` rounded up to the minute so repeated reads share a cache key. */
export function rangeOf(query: { from?: string; to?: string }, nowMs: number, defaultMs: number): { from: Date; to: Date } {
  const to = query.to === undefined ? new Date(Math.ceil(nowMs / 60_000) * 60_000) : new Date(query.to);
  const from = query.from === undefined ? new Date(to.getTime() - defaultMs) : new Date(query.from);
  if (from.getTime() >= to.getTime()) throw new ValidationError('from must be before to', { from: query.from, to: query.to });
  if (to.getTime() - from.getTime() > MAX_RANGE_MS) throw new ValidationError('The range may span at most 400 days');
  return { from, to };
}

export const RangeQuerySchema = {
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
};

export function slaRoutes(container: Container, sla: SlaService) {
  return async (app: App) => {
    app.get(
      '/api/v1/monitoring/dashboard/sla',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['dashboard'],
          summary: 'SLA per service for any range (default the last 24 h): uptime from health checks, p95 from performance_metrics, violations',
          querystring: Type.Object({ ...RangeQuerySchema, service: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) }),
          response: { 200: SlaResponseSchema },
        },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        const { from, to } = rangeOf(request.query, container.clock.nowMs(), 86_400_000);
        const service = request.query.service === undefined ? null : request.query.service.replace(/-service$/, '');
        return readThrough(container.cache, tenantId, ['sla', from.toISOString(), to.toISOString(), service], READ_TTL_MS.sla, async () => {
          const [entries, stored] = await Promise.all([sla.compute(tenantId, from, to), sla.stored(tenantId, from, to, service)]);
          return {
            from: from.toISOString(),
            to: to.toISOString(),
            services: service === null ? entries : entries.filter((entry) => entry.service_name === service),
            history: stored.map((row) => ({ ...row, period_start: row.period_start.toISOString(), period_end: row.period_end.toISOString() })),
          };
        });
      },
    );
  };
}
