import { LogLevel, WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebAPIRequestError, WebClient, type Logger as SlackLogger } from '@slack/web-api';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/index.js';
import type { Channel, OutboxMessage } from './channel.js';
import type { DeliveryOutcome } from './outcome.js';
import { alertLine, titleOf, type NotificationPayload } from './payload.js';

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

function blocksOf(payload: NotificationPayload) {
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
  ];
}

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
 * chat.postMessage with blocks. A group's first message starts a thread; its `ts` is stored
 * so later updates (resolved, repeats, escalation, acknowledgement) are replies in that thread.
 */
export function createSlackChannel(deps: { config: Config; db: Db; clock: Clock; logger: Logger }): Channel {
  const { config } = deps;
  const token = config.SLACK_TOKEN;
  const channelId = config.SLACK_CHANNEL;
  if (token === undefined || channelId === undefined) {
    return { name: 'slack', notConfigured: 'Slack is not configured (set SLACK_TOKEN and SLACK_CHANNEL)', send: async () => ({ status: 'failed', error: 'Slack is not configured' }) };
  }
  const client = new WebClient(token, {
    slackApiUrl: config.SLACK_API_URL ?? 'https://slack.com/api/',
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    timeout: config.NOTIFICATION_TIMEOUT_MS,
    logger: slackLogger(deps.logger),
  });

  const threadOf = async (message: OutboxMessage): Promise<string | undefined> => {
    if (message.group_key === null) return undefined;
    const result = await deps.db.withTenant(message.tenant_id, (tx) =>
      tx.query<{ external_id: string }>('SELECT external_id FROM notification_threads WHERE tenant_id = $1 AND channel = $2 AND thread_key = $3', [message.tenant_id, 'slack', message.group_key]),
    );
    return result.rows[0]?.external_id;
  };

  const remember = async (message: OutboxMessage, ts: string): Promise<void> => {
    if (message.group_key === null) return;
    await deps.db.withTenant(message.tenant_id, (tx) =>
      tx.query(
        `INSERT INTO notification_threads (tenant_id, channel, thread_key, external_channel, external_id, created_at) VALUES ($1, 'slack', $2, $3, $4, $5)
         ON CONFLICT (tenant_id, channel, thread_key) DO NOTHING`,
        [message.tenant_id, message.group_key, channelId, ts, deps.clock.now()],
      ),
    );
  };

  return {
    name: 'slack',
    notConfigured: null,
    async send(message) {
      const threadTs = await threadOf(message);
      try {
        const result = await client.chat.postMessage({
          channel: channelId,
          text: titleOf(message.payload),
          blocks: blocksOf(message.payload),
          ...(threadTs === undefined ? {} : { thread_ts: threadTs }),
        });
        const ts = typeof result.ts === 'string' ? result.ts : undefined;
        if (threadTs === undefined && ts !== undefined) await remember(message, ts);
        return { status: 'ok', statusCode: 200, response: { ts: ts ?? null, thread_ts: threadTs ?? null, channel: result.channel ?? channelId } };
      } catch (error) {
        return outcomeOfSlackError(error);
      }
    },
  };
}
