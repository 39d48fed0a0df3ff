import type { Tx } from '../../platform/db/index.js';
import type { ChannelName } from '../channels.js';
import { insertOutbox, type NewOutboxRow } from './outbox.repository.js';
import type { NotificationPayload } from './payload.js';

/** The channels as one tenant sees them: which can send its notifications, and why the others cannot. */
export interface Channels {
  /** Per channel: null when the tenant's notifications can be sent on it, else why not. In the caller's transaction. */
  availability(tx: Tx, tenantId: string): Promise<Readonly<Record<ChannelName, string | null>>>;
}

/**
 * Turns one notification into outbox rows, one per channel, inside the caller's transaction.
 * PagerDuty gets one event per alert (dedup_key = fingerprint) for the given actions; a channel
 * the tenant has no receiver for (or the platform no transport for) gets a row saying so instead
 * of being skipped.
 */
export async function enqueueNotification(
  tx: Tx,
  tenantId: string,
  now: Date,
  channels: Channels,
  notification: {
    channels: readonly ChannelName[];
    payload: NotificationPayload;
    alertId: string | null;
    pagerDuty: ReadonlyArray<{ action: 'trigger' | 'acknowledge' | 'resolve'; alertIndex: number }>;
  },
): Promise<string[]> {
  const rows: NewOutboxRow[] = [];
  const { payload } = notification;
  const available = await channels.availability(tx, tenantId);
  for (const name of notification.channels) {
    const notConfigured = available[name];
    const base = { channel: name, kind: payload.kind, groupKey: payload.group_key, alertId: notification.alertId } as const;
    if (notConfigured !== null) {
      rows.push({ ...base, payload, status: 'not_configured', error: notConfigured });
      continue;
    }
    if (name !== 'pagerduty') {
      rows.push({ ...base, payload, status: 'pending', error: null });
      continue;
    }
    for (const event of notification.pagerDuty) {
      const alert = payload.alerts[event.alertIndex];
      if (alert === undefined) continue;
      rows.push({
        ...base,
        alertId: alert.id,
        payload: { ...payload, severity: alert.severity, alerts: [alert], pagerduty: { event_action: event.action, dedup_key: alert.fingerprint } },
        status: 'pending',
        error: null,
      });
    }
  }
  return insertOutbox(tx, tenantId, rows, now);
}
