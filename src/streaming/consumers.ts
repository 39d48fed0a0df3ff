import { Value } from '@sinclair/typebox/value';
import type { TSchema, Static } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { AlertStore } from '../alerts/alert-store.js';
import { AppError, ValidationError } from '../errors.js';
import type { Ingest } from '../metrics/ingest.js';
import { CONSUMER_GROUP, originOf, parkedTopic, TOPICS, type Bus, type DeliveredMessage, type Subscription } from '../platform/bus/index.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import { insertFraudEvent } from './fraud-events.repository.js';
import { AlertMessageSchema, BatchMetricMessageSchema, flattenAlertMessage, FraudMessageSchema, SingleMetricMessageSchema, type MetricMessage } from './messages.js';
import type { StreamProcessor } from './stream-processor.js';
import type { StreamingMetrics } from './streaming.metrics.js';

export interface ConsumerDeps {
  bus: Bus;
  db: Db;
  ingest: Ingest;
  alerts: Pick<AlertStore, 'raise' | 'resolve'>;
  processor: StreamProcessor;
  clock: Clock;
  logger: Logger;
  metrics: StreamingMetrics;
  /** This service's name: messages it published itself are not consumed again. */
  serviceName: string;
}

/** A message that can never succeed: parked at once instead of retried. */
class PoisonMessage extends Error {}

function check<S extends TSchema>(schema: S, value: unknown): Static<S> {
  if (Value.Check(schema, value)) return value;
  const problems = [...Value.Errors(schema, value)].slice(0, 5).map((error) => `${error.path || '/'}: ${error.message}`);
  throw new PoisonMessage(`invalid message: ${problems.join('; ')}`);
}

const timestampOf = (value: string | number | undefined, now: Date): Date => (value === undefined ? now : new Date(value));

/**
 * Consumers of other services' messages, in group `monitoring-metrics-group`: samples go through
 * the ingest pipeline, fraud events are stored, critical alert events raise alerts (which start
 * escalation). A bad message is counted and parked on `<topic>.parked`; a failure that may pass
 * (database down) is thrown so the bus redelivers it.
 */
export async function startConsumers(deps: ConsumerDeps): Promise<Subscription[]> {
  const consume = (topic: string, handle: (message: DeliveredMessage) => Promise<string>) =>
    deps.bus.subscribe(topic, CONSUMER_GROUP, async (message) => {
      try {
        const outcome = await handle(message);
        deps.metrics.consumed.inc({ topic, outcome });
      } catch (error) {
        // Over a tenant limit (samples per second, series): parked at once, so redeliveries of one
        // tenant's flood never hold up the other tenants sharing the partition.
        const limited = error instanceof AppError && error.code === 'RATE_LIMITED';
        if (!(error instanceof PoisonMessage || error instanceof ValidationError || limited)) throw error;
        deps.metrics.consumed.inc({ topic, outcome: limited ? 'rate_limited' : 'invalid' });
        const reason = (error instanceof ValidationError || limited) && error.details !== undefined ? `${error.message}: ${JSON.stringify(error.details)}` : error.message;
        deps.logger.warn({ topic, reason, origin: originOf(message.headers) }, limited ? 'bus message over a tenant limit parked' : 'invalid bus message parked');
        await deps.bus.publish(parkedTopic(topic), [{ key: message.key, value: message.value, headers: { ...message.headers, 'parked-reason': reason.slice(0, 500), 'parked-attempts': String(message.attempt) } }]);
      }
    });

  const own = (message: DeliveredMessage) => originOf(message.headers) === deps.serviceName;

  const metrics = await consume(TOPICS.metrics, async (message) => {
    if (own(message)) return 'own';
    const isBatch = typeof message.value === 'object' && message.value !== null && 'metrics' in message.value;
    const parsed: MetricMessage = isBatch ? check(BatchMetricMessageSchema, message.value) : check(SingleMetricMessageSchema, message.value);
    const samples = 'metrics' in parsed ? parsed.metrics : [{ name: parsed.name, service: parsed.service, value: parsed.value, type: parsed.type, labels: parsed.labels, timestamp: parsed.timestamp }];
    // Header `idempotency-key`: a batch delivered again (or re-sent by its producer) is stored once.
    const idempotencyKey = message.headers['idempotency-key'];
    const result = await deps.ingest.ingest(parsed.tenant_id, samples, 'bus', { idempotencyKey }).catch((error: unknown) => {
      // The key was used for another batch: retrying cannot help.
      if (error instanceof AppError && error.code === 'IDEMPOTENCY_KEY_REUSED') throw new PoisonMessage(`invalid message: ${error.message}`);
      throw error;
    });
    return result.replayed === true ? 'duplicate' : 'ingested';
  });

  const fraud = await consume(TOPICS.fraud, async (message) => {
    const event = check(FraudMessageSchema, message.value);
    const timestamp = timestampOf(event.timestamp, deps.clock.now());
    if (Number.isNaN(timestamp.getTime())) throw new PoisonMessage('invalid message: timestamp is not a date');
    // Every fraud event counts toward the spike pattern; this service's own are already stored.
    deps.processor.recordFraud(event.tenant_id);
    if (own(message)) return 'own';
    const stored = await deps.db.withTenant(event.tenant_id, (tx) => insertFraudEvent(tx, event.tenant_id, event, timestamp));
    return stored ? 'stored' : 'duplicate';
  });

  const alerts = await consume(TOPICS.alerts, async (message) => {
    if (own(message)) return 'own';
    const event = check(AlertMessageSchema, flattenAlertMessage(message.value));
    const origin = originOf(message.headers) ?? 'unknown';
    const fingerprint = event.fingerprint ?? `external:${origin}:${event.service_name ?? ''}:${event.name}`;
    if (event.kind === 'resolved') {
      const change = await deps.alerts.resolve(event.tenant_id, { fingerprint }, `service:${origin}`);
      return change === null ? 'logged' : 'resolved';
    }
    if (event.severity !== 'critical') {
      deps.logger.info({ tenantId: event.tenant_id, name: event.name, severity: event.severity, origin }, 'alert event from another service');
      return 'logged';
    }
    await deps.alerts.raise(event.tenant_id, {
      fingerprint,
      name: event.name,
      type: 'external',
      severity: 'critical',
      message: event.message ?? `${event.name} reported by ${origin}`,
      source: `alerts-stream:${origin}`,
      serviceName: event.service_name,
      labels: { ...event.labels, origin },
      value: event.value,
    });
    return 'raised';
  });

  return [metrics, fraud, alerts];
}
