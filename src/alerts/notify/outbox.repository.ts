import type { Tx } from '../../platform/db/index.js';
import type { Severity } from '../alert-store.js';
import type { ChannelName } from '../channels.js';
import type { OutboxMessage } from './channel.js';
import type { NotificationPayload } from './payload.js';

export type OutboxStatus = 'pending' | 'sending' | 'delivered' | 'dead' | 'not_configured';

export interface OutboxRow extends OutboxMessage {
  seq: number;
  severity: Severity;
  status: OutboxStatus;
  next_attempt_at: Date;
  lease_until: Date | null;
  /** The claim pass holding the row while it is 'sending'; only that pass may attempt or settle it. */
  lease_owner: string | null;
  last_error: string | null;
  last_status_code: number | null;
  response: Record<string, unknown> | null;
  created_at: Date;
  updated_at: Date;
  delivered_at: Date | null;
}

export interface NewOutboxRow {
  channel: ChannelName;
  kind: NotificationPayload['kind'];
  groupKey: string | null;
  alertId: string | null;
  payload: NotificationPayload;
  /** 'not_configured' rows record that the channel could not be used. */
  status: 'pending' | 'not_configured';
  error: string | null;
}

const COLUMNS = `id, seq, tenant_id, channel, kind, group_key, alert_id, severity, payload, status, attempts, next_attempt_at, lease_until, lease_owner, last_error,
  last_status_code, response, created_at, updated_at, delivered_at`;

export async function insertOutbox(tx: Tx, tenantId: string, rows: readonly NewOutboxRow[], now: Date): Promise<string[]> {
  if (rows.length === 0) return [];
  const result = await tx.query<{ id: string }>(
    `INSERT INTO notification_outbox (tenant_id, channel, kind, group_key, alert_id, severity, payload, status, last_error, next_attempt_at, created_at, updated_at)
     SELECT $1, r.channel, r.kind, r.group_key, r.alert_id, r.severity, r.payload::jsonb, r.status, r.last_error, $2, $2, $2
     FROM unnest($3::text[], $4::text[], $5::text[], $6::uuid[], $7::text[], $8::text[], $9::text[], $10::text[]) WITH ORDINALITY
       AS r(channel, kind, group_key, alert_id, severity, payload, status, last_error, ord)
     ORDER BY r.ord
     RETURNING id`,
    [tenantId, now, rows.map((r) => r.channel), rows.map((r) => r.kind), rows.map((r) => r.groupKey), rows.map((r) => r.alertId), rows.map((r) => r.payload.severity),
      rows.map((r) => JSON.stringify(r.payload)), rows.map((r) => r.status), rows.map((r) => r.error)],
  );
  return result.rows.map((row) => row.id);
}

/** A claim: a token unique to one claim pass, and until when its rows are held. */
export interface Lease {
  owner: string;
  until: Date;
}

/**
 * Takes due rows (and rows whose lease expired: their sender died, or never got to them) for
 * `lease.owner`, oldest first. The claim lease only covers the wait for an attempt: each attempt
 * renews its own row's lease with `startAttempt`.
 */
export async function claimDue(tx: Tx, tenantId: string | null, now: Date, lease: Lease, limit: number): Promise<OutboxRow[]> {
  const result = await tx.query<OutboxRow>(
    `UPDATE notification_outbox SET status = 'sending', lease_until = $3, lease_owner = $5, updated_at = $2
     WHERE id IN (
       SELECT id FROM notification_outbox
       WHERE ($1::uuid IS NULL OR tenant_id = $1) AND status IN ('pending', 'sending')
         AND ((status = 'pending' AND next_attempt_at <= $2) OR (status = 'sending' AND lease_until < $2))
       ORDER BY seq LIMIT $4 FOR UPDATE SKIP LOCKED)
     RETURNING ${COLUMNS}`,
    [tenantId, now, lease.until, limit, lease.owner],
  );
  return result.rows.sort((a, b) => a.seq - b.seq);
}

/**
 * Starts one delivery attempt: the row's lease is renewed to `leaseUntil` (the attempt's own
 * timeout) if the claim that took it still holds it. Undefined: another sender took the row over
 * after this claim's lease expired, and this one must not send it.
 */
export async function startAttempt(tx: Tx, row: OutboxRow, now: Date, leaseUntil: Date): Promise<OutboxRow | undefined> {
  const result = await tx.query<OutboxRow>(
    `UPDATE notification_outbox SET lease_until = $4, updated_at = $3
     WHERE tenant_id = $1 AND id = $2 AND status = 'sending' AND lease_owner = $5
     RETURNING ${COLUMNS}`,
    [row.tenant_id, row.id, now, leaseUntil, row.lease_owner],
  );
  return result.rows[0];
}

/** An earlier message of the same Slack thread not yet delivered: this one must wait for it. */
export async function hasEarlierUndelivered(tx: Tx, row: Pick<OutboxRow, 'tenant_id' | 'channel' | 'group_key' | 'seq'>): Promise<boolean> {
  if (row.group_key === null) return false;
  const result = await tx.query(
    `SELECT 1 FROM notification_outbox WHERE tenant_id = $1 AND channel = $2 AND group_key = $3 AND seq < $4 AND status IN ('pending', 'sending') LIMIT 1`,
    [row.tenant_id, row.channel, row.group_key, row.seq],
  );
  return result.rowCount > 0;
}

/** Settling writes only while `row.lease_owner` still holds the row; false: it was taken over. */
const HELD = `tenant_id = $1 AND id = $2 AND status = 'sending' AND lease_owner = $3`;

export async function markDelivered(tx: Tx, row: OutboxRow, now: Date, statusCode: number | null, response: Record<string, unknown> | null): Promise<boolean> {
  const result = await tx.query(
    `UPDATE notification_outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = $4, updated_at = $4, lease_until = NULL, lease_owner = NULL,
       last_status_code = $5, response = $6, last_error = NULL
     WHERE ${HELD}`,
    [row.tenant_id, row.id, row.lease_owner, now, statusCode, response === null ? null : JSON.stringify(response)],
  );
  return result.rowCount > 0;
}

export async function markFailedAttempt(
  tx: Tx,
  row: OutboxRow,
  now: Date,
  result: { status: 'pending' | 'dead'; nextAttemptAt: Date; error: string; statusCode: number | null },
): Promise<boolean> {
  const updated = await tx.query(
    `UPDATE notification_outbox SET status = $4, attempts = attempts + 1, next_attempt_at = $5, last_error = $6, last_status_code = $7, updated_at = $8,
       lease_until = NULL, lease_owner = NULL
     WHERE ${HELD}`,
    [row.tenant_id, row.id, row.lease_owner, result.status, result.nextAttemptAt, result.error, result.statusCode, now],
  );
  return updated.rowCount > 0;
}

/** Puts a claimed row back without counting an attempt (it waits for an earlier message); false: it was taken over. */
export async function release(tx: Tx, row: OutboxRow, now: Date): Promise<boolean> {
  const result = await tx.query(`UPDATE notification_outbox SET status = 'pending', lease_until = NULL, lease_owner = NULL, updated_at = $4 WHERE ${HELD}`, [row.tenant_id, row.id, row.lease_owner, now]);
  return result.rowCount > 0;
}

export async function listOutbox(
  tx: Tx,
  tenantId: string,
  filter: { status?: OutboxStatus; channel?: ChannelName; alertId?: string; limit: number; offset: number },
): Promise<{ rows: OutboxRow[]; total: number }> {
  const params = [tenantId, filter.status ?? null, filter.channel ?? null, filter.alertId ?? null];
  const where = `tenant_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR channel = $3) AND ($4::uuid IS NULL OR alert_id = $4)`;
  const rows = await tx.query<OutboxRow>(`SELECT ${COLUMNS} FROM notification_outbox WHERE ${where} ORDER BY seq DESC LIMIT $5 OFFSET $6`, [...params, filter.limit, filter.offset]);
  const total = await tx.query<{ total: number }>(`SELECT count(*)::int AS total FROM notification_outbox WHERE ${where}`, params);
  return { rows: rows.rows, total: total.rows[0]?.total ?? 0 };
}

/** A dead letter goes back to the queue with a fresh attempt budget. */
export async function requeueDead(tx: Tx, tenantId: string, id: string, now: Date): Promise<OutboxRow | undefined> {
  const result = await tx.query<OutboxRow>(
    `UPDATE notification_outbox SET status = 'pending', attempts = 0, next_attempt_at = $3, updated_at = $3 WHERE tenant_id = $1 AND id = $2 AND status = 'dead' RETURNING ${COLUMNS}`,
    [tenantId, id, now],
  );
  return result.rows[0];
}

export async function outboxDepth(tx: Tx): Promise<Array<{ channel: string; status: string; n: number }>> {
  const result = await tx.query<{ channel: string; status: string; n: number }>(
    `SELECT channel, status, count(*)::int AS n FROM notification_outbox WHERE status IN ('pending', 'sending', 'dead') GROUP BY channel, status`,
  );
  return result.rows;
}

/** Retention (the cleanup job): settled records (and Slack threads) older than the alert retention. */
export async function pruneSettled(tx: Tx, olderThan: Date): Promise<number> {
  const outbox = await tx.query(`DELETE FROM notification_outbox WHERE status IN ('delivered', 'dead', 'not_configured') AND created_at < $1`, [olderThan]);
  const threads = await tx.query(
    `DELETE FROM notification_threads t WHERE t.created_at < $1
       AND NOT EXISTS (SELECT 1 FROM alert_groups g WHERE g.tenant_id = t.tenant_id AND g.group_key = t.thread_key)`,
    [olderThan],
  );
  return outbox.rowCount + threads.rowCount;
}
