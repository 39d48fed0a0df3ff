import { Type, type Static } from '@sinclair/typebox';
import { SampleSchema } from '../metrics/sample.js';
import { SEVERITIES } from '../alerts/alert-store.js';

/**
 * What other services put on the topics this service consumes. Extra fields are tolerated
 * (producers evolve); the fields used here are checked.
 */
const TenantId = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$', description: 'the tenant (a UUID)' });
const Timestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Number({ minimum: 0 })]);

/** `metrics-stream`: one sample with its tenant, or `{tenant_id, metrics: [sample, ...]}`. */
export const SingleMetricMessageSchema = Type.Composite([Type.Object({ tenant_id: TenantId }), SampleSchema], { additionalProperties: false });
export const BatchMetricMessageSchema = Type.Object({ tenant_id: TenantId, metrics: Type.Array(SampleSchema, { minItems: 1 }) }, { additionalProperties: false });
export type MetricMessage = Static<typeof SingleMetricMessageSchema> | Static<typeof BatchMetricMessageSchema>;

/** `fraud-events`: one fraud detection of another service. */
export const FraudMessageSchema = Type.Object({
  tenant_id: TenantId,
  user_id: Type.String({ minLength: 1, maxLength: 200 }),
  pattern: Type.String({ minLength: 1, maxLength: 200 }),
  risk_level: Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high'), Type.Literal('critical')]),
  risk_score: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  timestamp: Type.Optional(Timestamp),
});
export type FraudMessage = Static<typeof FraudMessageSchema>;

/** `alerts-stream`: an alert event of another service (flat, or with the alert nested under `alert`). */
export const AlertMessageSchema = Type.Object({
  tenant_id: TenantId,
  name: Type.String({ minLength: 1, maxLength: 200 }),
  severity: Type.Union(SEVERITIES.map((severity) => Type.Literal(severity))),
  message: Type.Optional(Type.String({ maxLength: 4000 })),
  kind: Type.Optional(Type.String({ maxLength: 50, description: '`resolved` resolves the alert of this fingerprint; anything else (or none) raises one when critical' })),
  fingerprint: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'identity of the alert; default `external:<origin header>:<service_name>:<name>`' })),
  service_name: Type.Optional(Type.String({ maxLength: 200 })),
  labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  value: Type.Optional(Type.Number()),
});
export type AlertMessage = Static<typeof AlertMessageSchema>;

/** Brings `{tenant_id, kind, alert: {...}}` to the flat shape. */
export function flattenAlertMessage(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || !('alert' in value)) return value;
  const { alert, ...rest } = value as { alert: unknown } & Record<string, unknown>;
  return typeof alert === 'object' && alert !== null ? { ...(alert as Record<string, unknown>), ...rest } : value;
}
