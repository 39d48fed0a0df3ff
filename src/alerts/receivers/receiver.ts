import type { Config } from '../../config.js';
import type { ChannelName } from '../channels.js';

/** Where one tenant's notifications of one channel go, secrets included (delivery only, never an API answer). */
export interface EmailReceiver {
  channel: 'email';
  to: string[];
}
/** Slack through the Web API (chat.postMessage, threads) or through an incoming webhook (no threads). */
export type SlackReceiver = { channel: 'slack'; slack_channel: string; token: string } | { channel: 'slack'; webhook_url: string };
export interface PagerDutyReceiver {
  channel: 'pagerduty';
  routing_key: string;
}
/** `secret` null: the body is sent unsigned. */
export interface WebhookReceiver {
  channel: 'webhook';
  url: string;
  secret: string | null;
}
export type Receiver = EmailReceiver | SlackReceiver | PagerDutyReceiver | WebhookReceiver;
export type ReceiverOf<C extends ChannelName> = Extract<Receiver, { channel: C }>;

/** A receiver, or why the channel cannot send for this tenant. */
export type Resolved = { receiver: Receiver } | { notConfigured: string };

export const noReceiver = (channel: ChannelName) => `no receiver configured for this tenant (PUT /api/v1/monitoring/alerts/receivers/${channel})`;

/**
 * The platform tenant's receivers (SYSTEM_TENANT_ID), from the environment: per channel the
 * receiver, or which variable to set. No other tenant ever gets these.
 */
export function environmentReceivers(config: Config, hmacSecret: string): { readonly [C in ChannelName]: ReceiverOf<C> | string } {
  const { SLACK_TOKEN: token, SLACK_CHANNEL: slackChannel, PAGERDUTY_ROUTING_KEY: routingKey, WEBHOOK_URL: url } = config;
  return {
    email: config.ALERT_EMAIL_TO.length > 0 ? { channel: 'email', to: [...config.ALERT_EMAIL_TO] } : 'alert e-mail is not configured (set ALERT_EMAIL_TO)',
    slack: token !== undefined && slackChannel !== undefined ? { channel: 'slack', slack_channel: slackChannel, token } : 'Slack is not configured (set SLACK_TOKEN and SLACK_CHANNEL)',
    pagerduty: routingKey === undefined ? 'PagerDuty is not configured (set PAGERDUTY_ROUTING_KEY)' : { channel: 'pagerduty', routing_key: routingKey },
    webhook: url === undefined ? 'webhook is not configured (set WEBHOOK_URL)' : { channel: 'webhook', url, secret: config.WEBHOOK_SECRET ?? hmacSecret },
  };
}
