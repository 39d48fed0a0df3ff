import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Clock } from '../../platform/clock.js';
import type { Db, Tx } from '../../platform/db/index.js';
import type { AlertingMetrics } from '../alerting.metrics.js';
import type { ChannelName } from '../channels.js';
import { retryDelayMs } from './backoff.js';
import type { Channels } from './enqueue.js';
import type { DeliveryOutcome } from './outcome.js';
import { claimDue, hasEarlierUndelivered, markDelivered, markFailedAttempt, release, type OutboxRow } from './outbox.repository.js';

export interface DeliveryResult {
  claimed: number;
  delivered: number;
  retrying: number;
  dead: number;
  deferred: number;
}

/**
 * Drains the outbox: rows are claimed under a lease (a crashed sender's rows come back after
 * it), channels run in parallel, one channel's rows in creation order. Retryable failures back
 * off exponentially with jitter and honour Retry-After; after NOTIFICATION_MAX_ATTEMPTS, or on
 * a permanent failure, the row is dead-lettered.
 */
export function createDelivery(deps: { config: Config; db: Db; clock: Clock; logger: Logger; channels: Channels; metrics: AlertingMetrics }) {
  const { config } = deps;
  const unit = <T>(tenantId: string, work: (tx: Tx) => Promise<T>) => deps.db.withTenant(tenantId, work);

  const settle = async (row: OutboxRow, outcome: DeliveryOutcome): Promise<'delivered' | 'retrying' | 'dead'> => {
    const now = deps.clock.now();
    if (outcome.status === 'ok') {
      await unit(row.tenant_id, (tx) => markDelivered(tx, row, now, outcome.statusCode ?? null, outcome.response ?? null));
      deps.metrics.sent.inc({ channel: row.channel });
      return 'delivered';
    }
    const attempts = row.attempts + 1;
    const dead = outcome.status === 'failed' || attempts >= config.NOTIFICATION_MAX_ATTEMPTS;
    const delay = retryDelayMs(attempts, { baseMs: config.NOTIFICATION_BACKOFF_BASE_MS, maxMs: config.NOTIFICATION_BACKOFF_MAX_MS, retryAfterMs: outcome.status === 'retryable' ? outcome.retryAfterMs : undefined });
    await unit(row.tenant_id, (tx) =>
      markFailedAttempt(tx, row, now, { status: dead ? 'dead' : 'pending', nextAttemptAt: new Date(now.getTime() + delay), error: outcome.error, statusCode: outcome.statusCode ?? null }),
    );
    deps.metrics.failed.inc({ channel: row.channel, outcome: dead ? 'dead' : 'retrying' });
    if (dead) deps.logger.warn({ notification: row.id, channel: row.channel, attempts, error: outcome.error }, 'notification dead-lettered');
    return dead ? 'dead' : 'retrying';
  };

  const deliverChannel = async (rows: OutboxRow[], result: DeliveryResult): Promise<void> => {
    // Slack replies must not overtake the message that starts their thread, nor a PagerDuty resolve
    // its trigger: a group's row waits while an earlier one is undelivered. Rows come in creation
    // order, so the database is asked once per group and the rest is known from this pass.
    const checked = new Set<string>();
    const blocked = new Set<string>();
    for (const row of rows) {
      const channel = deps.channels[row.channel];
      const ordered = (row.channel === 'slack' || row.channel === 'pagerduty') && row.group_key !== null;
      const key = `${row.tenant_id}|${row.group_key ?? ''}`;
      if (ordered && !checked.has(key)) {
        checked.add(key);
        if (await unit(row.tenant_id, (tx) => hasEarlierUndelivered(tx, row))) blocked.add(key);
      }
      if (ordered && blocked.has(key)) {
        await unit(row.tenant_id, (tx) => release(tx, row, deps.clock.now()));
        result.deferred += 1;
        continue;
      }
      let outcome: DeliveryOutcome;
      try {
        outcome = await channel.send(row);
      } catch (error) {
        outcome = { status: 'retryable', error: error instanceof Error ? error.message : String(error) };
      }
      const settled = await settle(row, outcome);
      if (ordered && settled === 'retrying') blocked.add(key);
      result[settled] += 1;
    }
  };

  return {
    /** One pass over due rows; `tenantId` limits it to one tenant. */
    async deliverDue(options: { tenantId?: string; limit?: number } = {}): Promise<DeliveryResult> {
      const now = deps.clock.now();
      const leaseUntil = new Date(now.getTime() + config.NOTIFICATION_TIMEOUT_MS * 3);
      const limit = options.limit ?? 500;
      const tenantId = options.tenantId;
      const rows =
        tenantId === undefined
          ? await deps.db.asSystem((tx) => claimDue(tx, null, now, leaseUntil, limit))
          : await deps.db.withTenant(tenantId, (tx) => claimDue(tx, tenantId, now, leaseUntil, limit));
      const result: DeliveryResult = { claimed: rows.length, delivered: 0, retrying: 0, dead: 0, deferred: 0 };
      const byChannel = new Map<ChannelName, OutboxRow[]>();
      for (const row of rows) {
        const list = byChannel.get(row.channel);
        if (list === undefined) byChannel.set(row.channel, [row]);
        else list.push(row);
      }
      await Promise.all([...byChannel.values()].map((list) => deliverChannel(list, result)));
      return result;
    },
  };
}

export type Delivery = ReturnType<typeof createDelivery>;
