import type { Tx } from '../platform/db/index.js';
import type { FraudMessage } from './messages.js';

/** Stores a fraud event; the same (user, pattern, timestamp) delivered twice is stored once. */
export async function insertFraudEvent(tx: Tx, tenantId: string, event: FraudMessage, timestamp: Date): Promise<boolean> {
  const result = await tx.query(
    `INSERT INTO fraud_events (tenant_id, user_id, pattern, risk_level, risk_score, data, "timestamp")
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (tenant_id, user_id, pattern, "timestamp") DO NOTHING`,
    [tenantId, event.user_id, event.pattern, event.risk_level, event.risk_score ?? 0, JSON.stringify(event.data ?? {}), timestamp],
  );
  return result.rowCount === 1;
}
