import { Type, type TSchema } from '@sinclair/typebox';
import { principalOf, READ } from '../auth/index.js';
import type { Container } from '../container.js';
import { CheckStatusSchema } from '../health/health.schemas.js';
import type { App } from '../platform/http/types.js';
import { NonFiniteFieldsSchema } from '../platform/non-finite.js';
import { rangeOf, RangeQuerySchema } from '../sla/index.js';
import type { DashboardService } from './dashboard.service.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const Counts = Type.Record(Type.String(), Type.Integer());

const OverviewSchema = Type.Object({
  generated_at: Type.String({ format: 'date-time' }),
  health: Type.Object({
    services: Type.Array(Type.Object({ name: Type.String(), status: CheckStatusSchema, latency_ms: Nullable(Type.Number()), checked_at: Type.String({ format: 'date-time' }) })),
  }),
  alerts: Type.Object({ active_total: Type.Integer(), by_severity: Counts }),
  incidents: Type.Object({ active_total: Type.Integer(), by_severity: Counts }),
  rates: Nullable(Type.Object({ window_seconds: Type.Integer(), requests_per_minute: Type.Number(), error_rate: Type.Number() })),
});

const LatencyFields = {
  requests: Type.Integer(),
  errors: Type.Integer(),
  error_rate: Type.Number(),
  p50_ms: Type.Number(),
  p95_ms: Type.Number(),
  p99_ms: Type.Number(),
};
const EndpointSchema = Type.Object({ service_name: Type.String(), endpoint: Type.String(), method: Type.String(), ...LatencyFields });

const PerformanceSchema = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  services: Type.Array(Type.Object({ service_name: Type.String(), ...LatencyFields })),
  endpoints: Type.Array(EndpointSchema),
  slowest_endpoints: Type.Array(EndpointSchema),
  /** Present once a forecast provider (ML) is registered. */
  forecast: Type.Optional(Type.Unknown()),
});

const FigureSchema = Type.Object({
  metric_name: Type.String(),
  value: Nullable(Type.Number()),
  by_currency: Type.Optional(Type.Record(Type.String(), Nullable(Type.Number()))),
  samples: Type.Integer(),
  last_sample_at: Type.String({ format: 'date-time' }),
  non_finite: NonFiniteFieldsSchema,
});

const BusinessSchema = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  metrics: Type.Record(Type.String(), FigureSchema),
  no_data: Type.Array(Type.String()),
});

export function dashboardRoutes(container: Container, dashboard: DashboardService) {
  return async (app: App) => {
    const guard = container.auth.require(READ);

    app.get(
      '/api/v1/monitoring/dashboard/overview',
      { preHandler: guard, schema: { tags: ['dashboard'], summary: 'Service health, active alerts and incidents by severity, request and error rates of the last 5 minutes', response: { 200: OverviewSchema } } },
      async (request) => dashboard.overview(principalOf(request).tenantId),
    );

    app.get(
      '/api/v1/monitoring/dashboard/performance',
      {
        preHandler: guard,
        schema: {
          tags: ['dashboard'],
          summary: 'p50/p95/p99 and error rate per service and endpoint, slowest endpoints (default the last hour)',
          querystring: Type.Object({ ...RangeQuerySchema, service: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) }),
          response: { 200: PerformanceSchema },
        },
      },
      async (request) => dashboard.performance(principalOf(request).tenantId, rangeOf(request.query, container.clock.nowMs(), 3_600_000), request.query.service ?? null),
    );

    app.get(
      '/api/v1/monitoring/dashboard/business',
      {
        preHandler: guard,
        schema: {
          tags: ['dashboard'],
          summary: 'Tickets sold, revenue, refunds and active users from the samples actually stored (default the last 24 h); missing figures are listed, not zeroed',
          querystring: Type.Object(RangeQuerySchema),
          response: { 200: BusinessSchema },
        },
      },
      async (request) => dashboard.business(principalOf(request).tenantId, rangeOf(request.query, container.clock.nowMs(), 86_400_000)),
    );
  };
}
