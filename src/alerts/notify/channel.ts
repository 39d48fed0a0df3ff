import type { ChannelName } from '../channels.js';
import type { DeliveryOutcome } from './outcome.js';
import type { NotificationPayload } from './payload.js';

/** One outbox row as a channel sees it. */
export interface OutboxMessage {
  id: string;
  tenant_id: string;
  channel: ChannelName;
  kind: NotificationPayload['kind'];
  group_key: string | null;
  alert_id: string | null;
  payload: NotificationPayload;
  attempts: number;
}

export interface Channel {
  readonly name: ChannelName;
  /** Why the channel cannot send (which variable to set), or null when configured. */
  readonly notConfigured: string | null;
  send(message: OutboxMessage): Promise<DeliveryOutcome>;
}
