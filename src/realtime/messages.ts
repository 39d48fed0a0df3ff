import { Type, type Static } from '@sinclair/typebox';
import { METRIC_NAME_PATTERN } from '../metrics/sample.js';
import type { NonFiniteFields } from '../platform/non-finite.js';

/**
 * The WebSocket protocol of `/api/v1/ws`. Every client message is a JSON object with an
 * `action`; the server answers each with a message carrying a `type`, and pushes `metric`
 * and `alert` messages for the connection's subscriptions (always within its token's tenant).
 */

/** A metric name, `alerts` (every alert change) or `*` (every metric and every alert). */
export const TopicName = Type.Union([Type.String({ pattern: METRIC_NAME_PATTERN, maxLength: 200 }), Type.Literal('*')]);

export const AuthMessageSchema = Type.Object({ action: Type.Literal('auth'), token: Type.String({ minLength: 1, maxLength: 8192 }) }, { additionalProperties: false });
export const SubscribeMessageSchema = Type.Object(
  { action: Type.Union([Type.Literal('subscribe'), Type.Literal('unsubscribe')]), metrics: Type.Array(TopicName, { minItems: 1, maxItems: 500 }) },
  { additionalProperties: false },
);
export const PingMessageSchema = Type.Object({ action: Type.Literal('ping') }, { additionalProperties: false });
export const ClientMessageSchema = Type.Union([AuthMessageSchema, SubscribeMessageSchema, PingMessageSchema]);
export type ClientMessage = Static<typeof ClientMessageSchema>;

/** Subscription to every alert change of the tenant. */
export const ALERTS = 'alerts';
/** Subscription to every metric and every alert of the tenant. */
export const EVERYTHING = '*';

export interface MetricSampleOut {
  name: string;
  service: string;
  value: number;
  labels: Record<string, string>;
  timestamp: string;
}

export interface AlertOut {
  id: string;
  fingerprint: string;
  name: string;
  type: string;
  severity: string;
  status: string;
  message: string;
  source: string;
  service_name: string | null;
  labels: Record<string, string>;
  value: number | null;
  starts_at: string;
  fired_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  resolved_at: string | null;
  /** `value` when it is not finite (then null): "+Inf", "-Inf" or "NaN". */
  non_finite?: NonFiniteFields;
}

/** Everything the server sends. */
export type ServerMessage =
  | { type: 'authenticated'; tenant_id: string; subject: string; expires_at: string | null }
  | { type: 'subscribed'; metrics: string[]; subscriptions: string[] }
  | { type: 'unsubscribed'; metrics: string[]; subscriptions: string[] }
  | { type: 'pong'; timestamp: string }
  | { type: 'error'; code: string; message: string; details?: unknown }
  /** Samples of one ingest commit that match the connection's subscriptions. */
  | { type: 'metric'; committed_at: string; samples: MetricSampleOut[] }
  /** One alert state change: pending, firing, updated, acknowledged or resolved. */
  | { type: 'alert'; kind: string; alert: AlertOut };

/** WebSocket close codes used by the server (4000-4999 are application codes). */
export const CloseCodes = {
  /** No valid token at connect or in an `auth` message in time, or the token expired. */
  UNAUTHENTICATED: 4401,
  /** No frame (message or pong) from the client within WS_STALE_TIMEOUT_MS. */
  STALE: 4408,
  /** The client could not keep up: its send buffer passed WS_MAX_BUFFERED_BYTES. */
  SLOW_CONSUMER: 4413,
  /** The client sent far more messages than WS_MESSAGE_RATE_LIMIT allows. */
  RATE_LIMITED: 4429,
  /** The server is shutting down. */
  GOING_AWAY: 1001,
} as const;
