import { Type, type TSchema } from '@sinclair/typebox';
import { CHECK_STATUSES, ERROR_CATEGORIES } from './check-result.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const CheckStatusSchema = Type.Union(CHECK_STATUSES.map((status) => Type.Literal(status)));

export const CheckResultSchema = Type.Object({
  name: Type.String(),
  kind: Type.Union([Type.Literal('service'), Type.Literal('dependency')]),
  status: CheckStatusSchema,
  latency_ms: Nullable(Type.Number()),
  status_code: Nullable(Type.Integer()),
  error: Nullable(Type.Object({ category: Type.Union(ERROR_CATEGORIES.map((category) => Type.Literal(category))), message: Type.String() })),
  details: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()])),
  checked_at: Type.String({ format: 'date-time' }),
});

export const DependencyResultSchema = Type.Object({ ...CheckResultSchema.properties, required: Type.Boolean() });

export const ServicesSummarySchema = Type.Object({
  total: Type.Integer(),
  healthy: Type.Integer(),
  degraded: Type.Integer(),
  unhealthy: Type.Integer(),
  last_checked_at: Nullable(Type.String({ format: 'date-time' })),
});

export const OverallHealthSchema = Type.Object({
  status: CheckStatusSchema,
  service: Type.String(),
  version: Type.String(),
  timestamp: Type.String({ format: 'date-time' }),
  uptime_seconds: Type.Number(),
  dependencies: Type.Array(DependencyResultSchema),
  services: Nullable(ServicesSummarySchema),
});

export const DependenciesSchema = Type.Object({ status: CheckStatusSchema, dependencies: Type.Array(DependencyResultSchema) });

export const ServicesSchema = Type.Object({
  status: CheckStatusSchema,
  services: Type.Array(CheckResultSchema),
  not_configured: Type.Array(Type.String()),
});

/** The shared error body, for status codes a route answers both with data and with an error. */
export const ErrorBodySchema = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String(), details: Type.Optional(Type.Unknown()) }),
  requestId: Type.Optional(Type.String()),
});
