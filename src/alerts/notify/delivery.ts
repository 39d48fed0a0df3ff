import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../../config.js';
import type { Clock } from '../../platform/clock.js';
import type { Db, Tx } from '../../platform/db/index.js';
import type { UnitFailed } from '../../platform/scheduler.js';
import type { AlertingMetrics } from '../alerting.metrics.js';
import type { ChannelName } from '../channels.js';
import type { Resolved } from '../receivers/receiver.js';
import { retryDelayMs } from './backoff.js';
import { sendTo, type ChannelSet } from './channel.js';
import type { DeliveryOutcome } from './outcome.js';
import { claimDue, hasEarlierUndelivered, markDelivered, markFailedAttempt, release, startAttempt, type OutboxRow } from './outbox.repository.js';

export interface DeliveryResult {
  claimed: number;
  delivered: number;
  retrying: number;
  dead: number;
  deferred: number;
  /** Rows another sender took over after this pass's lease on them expired: not sent, or not settled, by this pass. */
  lostLease: number;
}

type Settled = 'delivered' | 'retrying' | 'dead' | 'lostLease';

/** Beyond the attempt's timeout, a lease covers writing its outcome and clock differences between instances. */
const LEASE_MARGIN_MS = 5_000;

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Where a tenant's notifications of a channel go (the receivers of alerting), looked up once per pass. */
export type ReceiverLookup = (tenantId: string, channel: ChannelName) => Promise<Resolved>;

/**
 * One attempt to the receiver of the row's tenant, ended at the attempt timeout even where a
 * client's own timeouts are per phase (SMTP). A tenant without a receiver (deleted since the row
 * was written) fails for good: the dead letter can be retried once one is configured.
 */
async function sendWithin(channels: ChannelSet, lookup: ReceiverLookup, row: OutboxRow, timeoutMs: number): Promise<DeliveryOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<DeliveryOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ status: 'retryable', error: `no answer within ${timeoutMs} ms` }), timeoutMs);
  });
  const send = async (): Promise<DeliveryOutcome> => {
    let resolved: Resolved;
    try {
      resolved = await lookup(row.tenant_id, row.channel);
    } catch (error) {
      return { status: 'retryable', error: `the receiver could not be read: ${errorText(error)}` };
    }
    if ('notConfigured' in resolved) return { status: 'failed', error: resolved.notConfigured };
    return sendTo(channels, row, resolved.receiver);
  };
  const sent = send().catch((error: unknown): DeliveryOutcome => ({ status: 'retryable', error: errorText(error) }));
  try {
    return await Promise.race([sent, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Drains the outbox. A pass claims due rows under one owner token (rows of a crashed or stalled
 * sender come back once their lease expires); each attempt first renews its own row's lease for
 * NOTIFICATION_TIMEOUT_MS (plus a margin) and goes ahead only if the pass still owns the row, so a
 * row is sent again only after its attempt failed or its lease expired and another sender took
 * it. Each row goes to the receiver of its own tenant (looked up once per pass and tenant).
 * Channels run in parallel, one channel's rows in creation order. Retryable failures back off
 * exponentially with jitter and honour Retry-After; after NOTIFICATION_MAX_ATTEMPTS, or on a
 * permanent failure, the row is dead-lettered.
 */
export function createDelivery(deps: { config: Config; db: Db; clock: Clock; logger: Logger; channels: ChannelSet; receivers: { resolve: ReceiverLookup }; metrics: AlertingMetrics }) {
  const { config } = deps;
  const unit = <T>(tenantId: string, work: (tx: Tx) => Promise<T>) => deps.db.withTenant(tenantId, work);
  const leaseFrom = (now: Date) => new Date(now.getTime() + config.NOTIFICATION_TIMEOUT_MS + LEASE_MARGIN_MS);

  const lost = (row: OutboxRow, outcome: DeliveryOutcome): Settled => {
    deps.logger.warn({ notification: row.id, channel: row.channel, outcome: outcome.status }, 'notification attempt outlived its lease: another sender owns the row');
    return 'lostLease';
  };

  const settle = async (row: OutboxRow, outcome: DeliveryOutcome): Promise<Settled> => {
    const now = deps.clock.now();
    if (outcome.status === 'ok') {
      deps.metrics.sent.inc({ channel: row.channel });
      const written = await unit(row.tenant_id, (tx) => markDelivered(tx, row, now, outcome.statusCode ?? null, outcome.response ?? null));
      return written ? 'delivered' : lost(row, outcome);
    }
    const attempts = row.attempts + 1;
    const dead = outcome.status === 'failed' || attempts >= config.NOTIFICATION_MAX_ATTEMPTS;
    const delay = retryDelayMs(attempts, { baseMs: config.NOTIFICATION_BACKOFF_BASE_MS, maxMs: config.NOTIFICATION_BACKOFF_MAX_MS, retryAfterMs: outcome.status === 'retryable' ? outcome.retryAfterMs : undefined });
    const written = await unit(row.tenant_id, (tx) =>
      markFailedAttempt(tx, row, now, { status: dead ? 'dead' : 'pending', nextAttemptAt: new Date(now.getTime() + delay), error: outcome.error, statusCode: outcome.statusCode ?? null }),
    );
    if (!written) return lost(row, outcome);
    deps.metrics.failed.inc({ channel: row.channel, outcome: dead ? 'dead' : 'retrying' });
    if (dead) deps.logger.warn({ notification: row.id, channel: row.channel, attempts, error: outcome.error }, 'notification dead-lettered');
    return dead ? 'dead' : 'retrying';
  };

  /** Renews the row's lease for this attempt alone, then sends; a row another sender took over is left to it. */
  const attempt = async (row: OutboxRow, lookup: ReceiverLookup): Promise<Settled> => {
    const now = deps.clock.now();
    const held = await unit(row.tenant_id, (tx) => startAttempt(tx, row, now, leaseFrom(now)));
    if (held === undefined) return 'lostLease';
    return settle(held, await sendWithin(deps.channels, lookup, held, config.NOTIFICATION_TIMEOUT_MS));
  };

  const deliverChannel = async (rows: OutboxRow[], result: DeliveryResult, lookup: ReceiverLookup, onUnitFailure?: UnitFailed): Promise<void> => {
    // Slack replies must not overtake the message that starts their thread, nor a PagerDuty resolve
    // its trigger: a group's row waits while an earlier one is undelivered. Rows come in creation
    // order, so the database is asked once per group and the rest is known from this pass.
    const checked = new Set<string>();
    const blocked = new Set<string>();
    for (const row of rows) {
      const ordered = (row.channel === 'slack' || row.channel === 'pagerduty') && row.group_key !== null;
      const key = `${row.tenant_id}|${row.group_key ?? ''}`;
      try {
        if (ordered && !checked.has(key)) {
          checked.add(key);
          if (await unit(row.tenant_id, (tx) => hasEarlierUndelivered(tx, row))) blocked.add(key);
        }
        if (ordered && blocked.has(key)) {
          const released = await unit(row.tenant_id, (tx) => release(tx, row, deps.clock.now()));
          result[released ? 'deferred' : 'lostLease'] += 1;
          continue;
        }
        const settled = await attempt(row, lookup);
        // A row taken over is being sent by another pass: this group's later rows wait for it.
        if (ordered && (settled === 'retrying' || settled === 'lostLease')) blocked.add(key);
        result[settled] += 1;
      } catch (error) {
        // A database unit of one tenant's row failed: the row keeps its lease and comes back when
        // it ends; the group's later rows wait for it, and every other row of the pass goes on.
        if (ordered) blocked.add(key);
        deps.logger.error({ err: error, tenantId: row.tenant_id, notification: row.id, channel: row.channel }, 'notification delivery of a row failed; it is retried when its lease ends');
        onUnitFailure?.({ tenantId: row.tenant_id, notification: row.id }, error);
      }
    }
  };

  return {
    /** One pass over due rows; `tenantId` limits it to one tenant; a row whose database work fails is reported to `onUnitFailure`. */
    async deliverDue(options: { tenantId?: string; limit?: number; onUnitFailure?: UnitFailed } = {}): Promise<DeliveryResult> {
      const now = deps.clock.now();
      const lease = { owner: randomUUID(), until: leaseFrom(now) };
      const limit = options.limit ?? 500;
      const tenantId = options.tenantId;
      const rows =
        tenantId === undefined
          ? await deps.db.asSystem((tx) => claimDue(tx, null, now, lease, limit))
          : await deps.db.withTenant(tenantId, (tx) => claimDue(tx, tenantId, now, lease, limit));
      const result: DeliveryResult = { claimed: rows.length, delivered: 0, retrying: 0, dead: 0, deferred: 0, lostLease: 0 };
      const byChannel = new Map<ChannelName, OutboxRow[]>();
      for (const row of rows) {
        const list = byChannel.get(row.channel);
        if (list === undefined) byChannel.set(row.channel, [row]);
        else list.push(row);
      }
      const receivers = new Map<string, Promise<Resolved>>();
      const lookup: ReceiverLookup = (tenant, channel) => {
        const key = `${tenant}|${channel}`;
        const known = receivers.get(key) ?? deps.receivers.resolve(tenant, channel);
        receivers.set(key, known);
        return known;
      };
      await Promise.all([...byChannel.values()].map((list) => deliverChannel(list, result, lookup, options.onUnitFailure)));
      return result;
    },
  };
}

export type Delivery = ReturnType<typeof createDelivery>;
