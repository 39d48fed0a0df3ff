import type { ChannelName } from '../channels.js';
import type { Receiver, ReceiverOf } from '../receivers/receiver.js';
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

/** How one channel sends; where to is the notification's tenant's receiver, given with each message. */
export interface Channel<C extends ChannelName = ChannelName> {
  readonly name: C;
  /** Why the channel cannot send for any tenant (the platform's transport is missing: SMTP_HOST), or null. */
  readonly unavailable: string | null;
  send(message: OutboxMessage, receiver: ReceiverOf<C>): Promise<DeliveryOutcome>;
}

export type ChannelSet = { readonly [C in ChannelName]: Channel<C> };

/** Sends `message` through the channel of its receiver. */
export function sendTo(channels: ChannelSet, message: OutboxMessage, receiver: Receiver): Promise<DeliveryOutcome> {
  switch (receiver.channel) {
    case 'email':
      return channels.email.send(message, receiver);
    case 'slack':
      return channels.slack.send(message, receiver);
    case 'pagerduty':
      return channels.pagerduty.send(message, receiver);
    case 'webhook':
      return channels.webhook.send(message, receiver);
  }
}
