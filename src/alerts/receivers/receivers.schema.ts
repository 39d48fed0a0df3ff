import { Type, type TSchema } from '@sinclair/typebox';
import { ValidationError } from '../../errors.js';
import type { ChannelName } from '../channels.js';
import type { Receiver } from './receiver.js';

/** Request bodies of PUT /alerts/receivers/<channel>: the shape here, the meaning in `parseReceiver`. */
export const EmailReceiverBody = Type.Object({ to: Type.Array(Type.String({ minLength: 3, maxLength: 254 }), { minItems: 1, maxItems: 20 }) }, { additionalProperties: false });
export const SlackReceiverBody = Type.Object(
  {
    channel: Type.Optional(Type.String({ minLength: 1, maxLength: 80, description: 'channel id, with token (Web API: threads)' })),
    token: Type.Optional(Type.String({ minLength: 8, maxLength: 500, description: 'bot token (secret)' })),
    webhook_url: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'incoming webhook URL instead of channel and token (secret; no threads)' })),
  },
  { additionalProperties: false, description: '{channel, token} or {webhook_url}' },
);
export const PagerDutyReceiverBody = Type.Object({ routing_key: Type.String({ minLength: 1, maxLength: 64, description: 'Events API v2 integration key (secret)' }) }, { additionalProperties: false });
export const WebhookReceiverBody = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2000 }),
    secret: Type.Optional(Type.String({ minLength: 16, maxLength: 512, description: 'HMAC-SHA256 signing key (secret); without it the body is not signed' })),
  },
  { additionalProperties: false },
);
export const RECEIVER_BODIES: Readonly<Record<ChannelName, TSchema>> = { email: EmailReceiverBody, slack: SlackReceiverBody, pagerduty: PagerDutyReceiverBody, webhook: WebhookReceiverBody };

const SecretView = Type.Object({ configured: Type.Boolean(), hint: Type.Union([Type.String(), Type.Null()], { description: 'the last 4 characters at most' }) });
export const ReceiverViewSchema = Type.Object({
  channel: Type.String(),
  settings: Type.Record(Type.String(), Type.Unknown(), { description: 'the fields that are not secret' }),
  secrets: Type.Record(Type.String(), SecretView, { description: 'secret fields: never their value' }),
  updated_by: Type.String(),
  updated_at: Type.String({ format: 'date-time' }),
});

/** A receiver as stored: the fields that are not secret, and the secret fields to seal (null: none). */
export interface ReceiverInput {
  settings: Record<string, unknown>;
  secrets: Record<string, string> | null;
}

const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/u;
const SLACK_CHANNEL = /^[A-Za-z0-9#][A-Za-z0-9_.#-]{0,79}$/;
/** Printable ASCII without spaces: what tokens and signing secrets are made of. */
const PRINTABLE = /^[\x21-\x7e]+$/;
const ROUTING_KEY = /^[A-Za-z0-9]{32}$/;

const invalid = (field: string, message: string): never => {
  throw new ValidationError(message, { field });
};

/** An http(s) URL without credentials in it (they belong in a secret field). */
export function httpUrl(value: string, field: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return invalid(field, `${field} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') invalid(field, `${field} must be an http or https URL (got ${url.protocol})`);
  if (url.username !== '' || url.password !== '') invalid(field, `${field} must not carry a user or password`);
  return url.href;
}

/** Checks a PUT body (its shape already checked against RECEIVER_BODIES[channel]); throws VALIDATION_FAILED naming the field. */
export function parseReceiver(channel: ChannelName, body: unknown): ReceiverInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return invalid('/', 'the body must be an object');
  const record = body as Record<string, unknown>;
  const text = (field: string): string | undefined => (typeof record[field] === 'string' ? record[field] : undefined);
  switch (channel) {
    case 'email': {
      const to = Array.isArray(record['to']) ? record['to'].filter((item): item is string => typeof item === 'string') : [];
      to.forEach((address, index) => {
        if (!EMAIL.test(address)) invalid(`to/${index}`, `to/${index} is not an e-mail address`);
      });
      return { settings: { to: [...new Set(to)] }, secrets: null };
    }
    case 'slack': {
      const [slackChannel, token, webhookUrl] = [text('channel'), text('token'), text('webhook_url')];
      if (webhookUrl !== undefined) {
        if (slackChannel !== undefined || token !== undefined) invalid('webhook_url', 'give either webhook_url or channel and token, not both');
        return { settings: { mode: 'incoming_webhook' }, secrets: { webhook_url: httpUrl(webhookUrl, 'webhook_url') } };
      }
      if (slackChannel === undefined) return invalid('channel', 'channel and token (or webhook_url) are required');
      if (token === undefined) return invalid('token', 'token is required with channel');
      if (!SLACK_CHANNEL.test(slackChannel)) invalid('channel', 'channel is not a Slack channel id or name');
      if (!PRINTABLE.test(token)) invalid('token', 'token must be printable ASCII without spaces');
      return { settings: { mode: 'api', channel: slackChannel }, secrets: { token } };
    }
    case 'pagerduty': {
      const routingKey = text('routing_key') ?? '';
      if (!ROUTING_KEY.test(routingKey)) invalid('routing_key', 'routing_key must be a 32-character Events API v2 integration key');
      return { settings: {}, secrets: { routing_key: routingKey } };
    }
    case 'webhook': {
      const url = httpUrl(text('url') ?? '', 'url');
      const secret = text('secret');
      if (secret !== undefined && !PRINTABLE.test(secret)) invalid('secret', 'secret must be printable ASCII without spaces');
      return { settings: { url }, secrets: secret === undefined ? null : { secret } };
    }
  }
}

/** What the API may show of a secret: that it is there, and its last 4 characters when it is long enough to spare them. */
export function hintOf(secret: string): string | null {
  return secret.length >= 16 ? `…${secret.slice(-4)}` : null;
}

const stringAt = (record: Record<string, unknown>, key: string): string => {
  const value = record[key];
  if (typeof value !== 'string') throw new TypeError(`stored receiver lacks ${key}`);
  return value;
};

/** The stored form back into a receiver for delivery; throws on a row this code did not write. */
export function receiverFrom(channel: ChannelName, settings: Record<string, unknown>, secrets: Record<string, unknown>): Receiver {
  switch (channel) {
    case 'email': {
      const to = settings['to'];
      if (!Array.isArray(to) || !to.every((item): item is string => typeof item === 'string')) throw new TypeError('stored receiver lacks to');
      return { channel, to };
    }
    case 'slack':
      return settings['mode'] === 'incoming_webhook'
        ? { channel, webhook_url: stringAt(secrets, 'webhook_url') }
        : { channel, slack_channel: stringAt(settings, 'channel'), token: stringAt(secrets, 'token') };
    case 'pagerduty':
      return { channel, routing_key: stringAt(secrets, 'routing_key') };
    case 'webhook':
      return { channel, url: stringAt(settings, 'url'), secret: typeof secrets['secret'] === 'string' ? secrets['secret'] : null };
  }
}
