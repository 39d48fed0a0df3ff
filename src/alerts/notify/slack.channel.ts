import { LogLevel, WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError, WebClient, type Logger as SlackLogger } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/index.js';
import type { Channel, OutboxMessage } from './channel.js';
import { outcomeOfNetworkError, outcomeOfResponse, type DeliveryOutcome } from './outcome.js';
import { alertLine, titleOf, type NotificationPayload } from './payload.js';
import { refusedTenantDestination } from './tenant-destination.js';

const RETRYABLE_PLATFORM_ERRORS = new Set(['ratelimited', 'rate_limited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

function slackLogger(logger: Logger): SlackLogger {
  let level = LogLevel.WARN;
  return {
    debug: () => undefined,
    info: () => undefined,
    warn: (...msg: unknown[]) => logger.warn({ slack: msg }, 'slack client'),
    error: (...msg: unknown[]) => logger.error({ slack: msg }, 'slack client'),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

function blocksOf(payload: NotificationPayload, tenantId: string) {
  const emoji = { info: ':information_source:', warning: ':warning:', error: ':x:', critical: ':rotating_light:' }[payload.severity];
  const lines = payload.alerts.slice(0, 20).map((alert) => {
    const runbook = alert.annotations['runbook_url'];
    return `• ${alertLine(alert)}${runbook === undefined ? '' : ` <${runbook}|runbook>`}`;
  });
  if (payload.alerts.length > 20) lines.push(`…and ${payload.alerts.length - 20} more`);
  return [
    { type: 'header', text: { type: 'plain_text', text: `${titleOf(payload)}`.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: `${emoji} *Severity:* ${payload.severity.toUpperCase()}   *Reason:* ${payload.reason}` } },
    { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n').slice(0, 2900) } },
    { type: 'context', elements: [{ type: 'mrkdwn', text: `*Tenant:* ${tenantId}` }] },
  ];
}

/** The message's fallback text: its title and the tenant. */
const textOf = (message: OutboxMessage) => `${titleOf(message.payload)} (tenant ${message.tenant_id})`;

export function outcomeOfSlackError(error: unknown): DeliveryOutcome {
  if (error instanceof WebAPIRateLimitedError) return { status: 'retryable', error: 'rate limited', statusCode: 429, retryAfterMs: error.retryAfter * 1000 };
  if (error instanceof WebAPIHTTPError) {
    return error.statusCode >= 500 || error.statusCode === 408
      ? { status: 'retryable', error: `HTTP ${error.statusCode}`, statusCode: error.statusCode }
      : { status: 'failed', error: `HTTP ${error.statusCode}`, statusCode: error.statusCode };
  }
  if (error instanceof WebAPIPlatformError) {
    return RETRYABLE_PLATFORM_ERRORS.has(error.data.error) ? { status: 'retryable', error: error.data.error } : { status: 'failed', error: error.data.error };
  }
  if (error instanceof WebAPIRequestError) return { status: 'retryable', error: error.original.message };
  return { status: 'retryable', error: error instanceof Error ? error.message : String(error) };
}

/**
 * chat.postMessage with blocks, to the Slack workspace and channel of the notification's tenant.
 * A group's first message starts a thread; its `ts` is stored so later updates (resolved,
 * repeats, escalation, acknowledgement) are replies in that thread. A receiver given as an
 * incoming webhook gets the same blocks without threads (incoming webhooks return no `ts`).
 */
export function createSlackChannel(deps: { config: Config; db: Db; clock: Clock; logger: Logger }): Channel<'slack'> {
  const { config } = deps;
  const logger = slackLogger(deps.logger);

  const threadOf = async (message: OutboxMessage, channelId: string): Promise<string | undefined> => {
    if (message.group_key === null) return undefined;
    const result = await deps.db.withTenant(message.tenant_id, (tx) =>
      tx.query<{ external_id: string }>('SELECT external_id FROM notification_threads WHERE tenant_id = $1 AND channel = $2 AND thread_key = $3 AND external_channel = $4', [
        message.tenant_id, 'slack', message.group_key, channelId,
      ]),
    );
    return result.rows[0]?.external_id;
  };

  /** A group's thread; a thread in a channel the tenant moved away from is replaced by the new one. */
  const remember = async (message: OutboxMessage, channelId: string, ts: string): Promise<void> => {
    if (message.group_key === null) return;
    await deps.db.withTenant(message.tenant_id, (tx) =>
      tx.query(
        `INSERT INTO notification_threads (tenant_id, channel, thread_key, external_channel, external_id, created_at) VALUES ($1, 'slack', $2, $3, $4, $5)
         ON CONFLICT (tenant_id, channel, thread_key) DO UPDATE SET external_channel = EXCLUDED.external_channel, external_id = EXCLUDED.external_id, created_at = EXCLUDED.created_at
           WHERE notification_threads.external_channel <> EXCLUDED.external_channel`,
        [message.tenant_id, message.group_key, channelId, ts, deps.clock.now()],
      ),
    );
  };

  const postIncoming = async (message: OutboxMessage, url: string): Promise<DeliveryOutcome> => {
    const refused = await refusedTenantDestination(config, message.tenant_id, url);
    if (refused !== undefined) return refused;
    try {
      const response = await fetch(url, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: textOf(message), blocks: blocksOf(message.payload, message.tenant_id) }),
        signal: AbortSignal.timeout(config.NOTIFICATION_TIMEOUT_MS),
      });
      return await outcomeOfResponse(response, deps.clock.nowMs());
    } catch (error) {
      return outcomeOfNetworkError(error);
    }
  };

  return {
    name: 'slack',
    unavailable: null,
    async send(message, receiver) {
      if ('webhook_url' in receiver) return postIncoming(message, receiver.webhook_url);
      const channelId = receiver.slack_channel;
      const client = new WebClient(receiver.token, {
        slackApiUrl: config.SLACK_API_URL ?? 'https://slack.com/api/',
        retryConfig: { retries: 0 },
        rejectRateLimitedCalls: true,
        timeout: config.NOTIFICATION_TIMEOUT_MS,
        logger,
      });
      const threadTs = await threadOf(message, channelId);
      try {
        const result = await client.chat.postMessage({
          channel: channelId,
          text: textOf(message),
          blocks: blocksOf(message.payload, message.tenant_id),
          ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
        });
        const ts = typeof result.ts === 'string' ? result.ts : undefined;
        if (threadTs === undefined && ts !== undefined) await remember(message, channelId, ts);
        return { status: 'ok', statusCode: 200, response: { ts: ts ?? null, thread_ts: threadTs ?? null, channel: result.channel ?? channelId } };
      } catch (error) {
        return outcomeOfSlackError(error);
      }
    },
  };
}
