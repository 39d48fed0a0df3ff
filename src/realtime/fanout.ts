import type { Logger } from 'pino';
import type { AlertChange, AlertRow } from '../alerts/alert-store.js';
import type { CommittedBatch, Ingest } from '../metrics/ingest.js';
import { finiteOrNull, nonFiniteMember, type NonFiniteFields } from '../platform/non-finite.js';
import type { PubSub } from '../platform/pubsub/index.js';
import type { Hub } from './hub.js';
import type { AlertOut, MetricSampleOut } from './messages.js';
import type { RealtimeMetrics } from './realtime.metrics.js';

export const REALTIME_CHANNEL = 'realtime';

/** What crosses instances: the update plus the id of the instance that produced it. */
type Envelope =
  | { origin: string; kind: 'metric'; tenant_id: string; committed_at: string; samples: MetricSampleOut[] }
  | { origin: string; kind: 'alert'; tenant_id: string; change: string; alert: AlertOut };

export interface AlertSource {
  onChange(listener: (change: AlertChange) => void): () => void;
}

/**
 * Feeds the hub: commits of this instance's ingest pipeline and alert changes go to local
 * subscribers at once and, when other instances are reachable, over pub/sub to theirs.
 * An instance ignores its own envelopes, so nothing is delivered twice.
 */
export async function wireFanout(deps: { hub: Hub; ingest: Ingest; alerts: AlertSource; pubsub: PubSub; instanceId: string; logger: Logger; metrics: RealtimeMetrics }): Promise<() => Promise<void>> {
  const share = (envelope: Envelope) => {
    if (!deps.pubsub.crossInstance) return;
    deps.pubsub.publish(REALTIME_CHANNEL, JSON.stringify(envelope)).catch((error: unknown) => {
      deps.metrics.fanoutPublishFailures.inc();
      deps.logger.warn({ err: error }, 'realtime fan-out to other instances failed');
    });
  };

  const offCommitted = deps.ingest.onCommitted('realtime', (batch: CommittedBatch) => {
    // Mapping a 1,000-sample batch costs about 2 ms of the event loop: only for someone to send it to.
    if (!deps.pubsub.crossInstance && !deps.hub.hasTenant(batch.tenantId)) return;
    const samples = batch.samples.map((sample) => ({ name: sample.name, service: sample.service, value: sample.value, labels: sample.labels, timestamp: sample.timestamp.toISOString() }));
    const committedAt = batch.committedAt.toISOString();
    deps.hub.broadcastMetricUpdate(batch.tenantId, committedAt, samples);
    share({ origin: deps.instanceId, kind: 'metric', tenant_id: batch.tenantId, committed_at: committedAt, samples });
  });

  const offAlerts = deps.alerts.onChange((change) => {
    const alert = alertOut(change.alert);
    deps.hub.broadcastAlert(change.tenantId, change.kind, alert);
    share({ origin: deps.instanceId, kind: 'alert', tenant_id: change.tenantId, change: change.kind, alert });
  });

  const unsubscribe = await deps.pubsub.subscribe(REALTIME_CHANNEL, (text) => {
    let envelope: Envelope;
    try {
      envelope = JSON.parse(text) as Envelope;
    } catch {
      deps.logger.warn('unparseable realtime envelope ignored');
      return;
    }
    if (envelope.origin === deps.instanceId) return;
    deps.metrics.fanoutReceived.inc();
    if (envelope.kind === 'metric') deps.hub.broadcastMetricUpdate(envelope.tenant_id, envelope.committed_at, envelope.samples);
    else if (envelope.kind === 'alert') deps.hub.broadcastAlert(envelope.tenant_id, envelope.change, envelope.alert);
  });

  return async () => {
    offCommitted();
    offAlerts();
    await unsubscribe();
  };
}

const iso = (value: Date | string | null): string | null => (value === null ? null : value instanceof Date ? value.toISOString() : new Date(value).toISOString());

export function alertOut(row: AlertRow): AlertOut {
  const flags: NonFiniteFields = {};
  return {
    id: row.id,
    fingerprint: row.fingerprint,
    name: row.name,
    type: row.type,
    severity: row.severity,
    status: row.status,
    message: row.message,
    source: row.source,
    service_name: row.service_name,
    labels: row.labels,
    value: row.value === null ? null : finiteOrNull(row.value, 'value', flags),
    starts_at: iso(row.starts_at) ?? '',
    fired_at: iso(row.fired_at),
    acknowledged_at: iso(row.acknowledged_at),
    acknowledged_by: row.acknowledged_by,
    resolved_at: iso(row.resolved_at),
    ...nonFiniteMember(flags),
  };
}
