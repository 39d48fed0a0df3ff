import type { Logger } from 'pino';
import type { AlertInput } from '../../alerts/alert-store.js';
import { createBatcher } from '../../platform/batcher.js';
import { TOPICS, type Bus } from '../../platform/bus/index.js';
import type { Db } from '../../platform/db/index.js';
import type { Reason } from './fraud-rules.js';
import { insertCheckEvents, type CheckEventInput, type FraudEventRow } from './fraud.repository.js';

export interface StoreRequest {
  tenantId: string;
  event: CheckEventInput;
  reasons: Reason[];
}

const MAX_BATCH = 256;
const RECENT_MAX = 50_000;

const keyOf = (tenantId: string, event: { userId: string; pattern: string; timestamp: Date }) => `${tenantId}|${event.userId}|${event.pattern}|${event.timestamp.getTime()}`;

/**
 * Writes high-risk checks. The database deduplicates on user, pattern and time bucket; a bucket this
 * instance already stored is answered from memory, without a transaction (a scalper repeating
 * requests). New events of concurrent checks are group-committed: one transaction per tenant per
 * batch. After the commit (and after the callers have their answers) each event is published and
 * each pattern of the batch raises or refreshes its alert once.
 */
export function createFraudEventWriter(deps: { db: Db; bus: Bus; logger: Logger; raise: (tenantId: string, input: AlertInput) => Promise<unknown> }) {
  const recent = new Set<string>();
  const inFlight = new Set<Promise<void>>();

  const remember = (key: string) => {
    recent.add(key);
    if (recent.size > RECENT_MAX) {
      const oldest = recent.values().next().value;
      if (oldest !== undefined) recent.delete(oldest);
    }
  };

  const followUp = async (tenantId: string, stored: ReadonlyArray<{ row: FraudEventRow; reasons: Reason[] }>) => {
    await deps.bus
      .publish(
        TOPICS.fraud,
        stored.map(({ row, reasons }) => ({
          key: `${tenantId}:${row.user_id}`,
          value: { tenant_id: tenantId, user_id: row.user_id, pattern: row.pattern, risk_level: row.risk_level, risk_score: row.risk_score / 100, data: { event_id: row.id, reasons: reasons.map((r) => r.indicator) }, timestamp: row.timestamp.toISOString() },
        })),
        { acks: 'all' },
      )
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'fraud-events publish failed'));
    // One alert per pattern, not per user: a bot farm of 500 accounts is one incident to page on, not
    // 500. The alert carries the latest user; every user is in fraud_events and on fraud-events.
    const latestByPattern = new Map(stored.map((entry) => [entry.row.pattern, entry]));
    for (const { row, reasons } of latestByPattern.values()) {
      await deps.raise(tenantId, {
        fingerprint: `fraud:${row.pattern}`,
        name: `Fraud suspected: ${row.pattern}`,
        type: 'fraud',
        severity: row.risk_level === 'critical' ? 'critical' : 'error',
        message: `Latest: user ${row.user_id}, ${row.pattern} risk ${row.risk_score} (${row.risk_level}): ${reasons.map((r) => r.detail).join('; ')}. All users: GET /api/v1/analytics/fraud/events?pattern=${row.pattern}`,
        source: 'fraud-detection',
        labels: { pattern: row.pattern },
        annotations: { event_id: row.id, user_id: row.user_id },
        value: row.risk_score,
      });
    }
  };

  const writeTenant = async (tenantId: string, requests: readonly StoreRequest[]): Promise<Array<FraudEventRow | null>> => {
    // Two checks of one bucket in the same batch: the first is the event, the second a duplicate.
    const firstOfKey = new Map<string, number>();
    requests.forEach((request, index) => {
      const key = keyOf(tenantId, request.event);
      if (!firstOfKey.has(key)) firstOfKey.set(key, index);
    });
    const unique = [...firstOfKey.values()].flatMap((index) => requests[index] ?? []);
    const rows = await deps.db.withTenant(tenantId, (tx) => insertCheckEvents(tx, tenantId, unique.map((request) => request.event)));
    const byKey = new Map(rows.map((row) => [keyOf(tenantId, { userId: row.user_id, pattern: row.pattern, timestamp: row.timestamp }), row]));
    const stored: Array<{ row: FraudEventRow; reasons: Reason[] }> = [];
    const answers = requests.map((request, index) => {
      const key = keyOf(tenantId, request.event);
      remember(key);
      const row = firstOfKey.get(key) === index ? byKey.get(key) : undefined;
      if (row === undefined) return null;
      stored.push({ row, reasons: request.reasons });
      return row;
    });
    if (stored.length > 0) {
      const task = followUp(tenantId, stored)
        .catch((error: unknown) => deps.logger.error({ err: error }, 'fraud event publish/alert failed'))
        .finally(() => inFlight.delete(task));
      inFlight.add(task);
    }
    return answers;
  };

  const write = createBatcher<StoreRequest, FraudEventRow | null>(async (requests) => {
    const byTenant = new Map<string, number[]>();
    requests.forEach((request, index) => {
      const indexes = byTenant.get(request.tenantId);
      if (indexes === undefined) byTenant.set(request.tenantId, [index]);
      else indexes.push(index);
    });
    const answers = new Array<FraudEventRow | null>(requests.length).fill(null);
    for (const [tenantId, indexes] of byTenant) {
      const written = await writeTenant(tenantId, indexes.flatMap((index) => requests[index] ?? []));
      written.forEach((row, position) => {
        const index = indexes[position];
        if (index !== undefined) answers[index] = row;
      });
    }
    return answers;
  }, MAX_BATCH);

  return {
    /** The stored event, or null when this user and pattern already has one in this time bucket. */
    async store(request: StoreRequest): Promise<FraudEventRow | null> {
      if (recent.has(keyOf(request.tenantId, request.event))) return null;
      return write(request);
    },
    /** Resolves when every started publish/alert has finished (shutdown, tests). */
    async idle(): Promise<void> {
      await Promise.all([...inFlight]);
    },
  };
}
