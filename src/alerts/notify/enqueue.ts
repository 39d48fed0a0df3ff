import type { Tx } from '../../platform/db/index.js';
import type { ChannelName } from '../channels.js';
import type { Channel } from './channel.js';
import { insertOutbox, type NewOutboxRow } from './outbox.repository.js';
import type { NotificationPayload } from './payload.js';

export type Channels = Readonly<Record<ChannelName, Channel>>;

/**
 * Turns one notification into outbox rows, one per channel, inside the caller's transaction.
 * PagerDuty gets one event per alert (dedup_key = fingerprint) for the given actions; a channel
 * that is not configured gets a row saying so instead of being skipped.
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
  for (const name of notification.channels) {
    const channel = channels[name];
    const base = { channel: name, kind: payload.kind, groupKey: payload.group_key, alertId: notification.alertId } as const;
    if (channel.notConfigured !== null) {
      rows.push({ ...base, payload, status: 'not_configured', error: channel.notConfigured });
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
