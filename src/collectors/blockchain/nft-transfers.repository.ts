import type { Tx } from '../../platform/db/index.js';

export type TransferStatus = 'pending' | 'confirmed' | 'finalized' | 'failed';

export interface TransferRow {
  id: string;
  tenant_id: string;
  token_address: string;
  from_address: string;
  to_address: string;
  signature: string;
  transfer_type: string;
  collection: string | null;
  status: TransferStatus;
  slot: string | null;
  error: string | null;
  submitted_at: Date;
  confirmed_at: Date | null;
  confirmation_ms: number | null;
  last_checked_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface NewTransfer {
  token_address: string;
  from_address: string;
  to_address: string;
  signature: string;
  transfer_type: string;
  collection: string | null;
  submitted_at: Date;
}

const COLUMNS = `id, tenant_id, token_address, from_address, to_address, signature, transfer_type, collection, status, slot::text AS slot, error,
  submitted_at, confirmed_at, confirmation_ms, last_checked_at, created_at, updated_at`;

/** Inserts unless the tenant already tracks the signature; null then. */
export async function insertTransfer(tx: Tx, tenantId: string, transfer: NewTransfer, now: Date): Promise<TransferRow | null> {
  const result = await tx.query<TransferRow>(
    `INSERT INTO nft_transfers (tenant_id, token_address, from_address, to_address, signature, transfer_type, collection, submitted_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
     ON CONFLICT (tenant_id, signature) DO NOTHING
     RETURNING ${COLUMNS}`,
    [tenantId, transfer.token_address, transfer.from_address, transfer.to_address, transfer.signature, transfer.transfer_type, transfer.collection, transfer.submitted_at, now],
  );
  return result.rows[0] ?? null;
}

export async function findTransfer(tx: Tx, tenantId: string, id: string): Promise<TransferRow | null> {
  const result = await tx.query<TransferRow>(`SELECT ${COLUMNS} FROM nft_transfers WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return result.rows[0] ?? null;
}

export async function findBySignature(tx: Tx, tenantId: string, signature: string): Promise<TransferRow | null> {
  const result = await tx.query<TransferRow>(`SELECT ${COLUMNS} FROM nft_transfers WHERE tenant_id = $1 AND signature = $2`, [tenantId, signature]);
  return result.rows[0] ?? null;
}

export async function listTransfers(tx: Tx, tenantId: string, filter: { status?: TransferStatus; limit: number; before?: Date }): Promise<TransferRow[]> {
  const result = await tx.query<TransferRow>(
    `SELECT ${COLUMNS} FROM nft_transfers
     WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::timestamptz IS NULL OR submitted_at < $3)
     ORDER BY submitted_at DESC, id DESC LIMIT $4`,
    [tenantId, filter.status ?? null, filter.before ?? null, filter.limit],
  );
  return result.rows;
}

/**
 * Transfers whose outcome is still open (pending, or confirmed but not yet finalized), oldest
 * checked first, across tenants (system work).
 */
export async function openTransfers(tx: Tx, limit: number): Promise<TransferRow[]> {
  const result = await tx.query<TransferRow>(
    `SELECT ${COLUMNS} FROM nft_transfers WHERE status IN ('pending', 'confirmed')
     ORDER BY last_checked_at ASC NULLS FIRST, submitted_at ASC LIMIT $1`,
    [limit],
  );
  return result.rows;
}

export interface TransferUpdate {
  id: string;
  tenantId: string;
  status: TransferStatus;
  slot: number | null;
  error: string | null;
  confirmedAt: Date | null;
  confirmationMs: number | null;
}

/** Applies outcomes; a row only moves forward (pending -> confirmed -> finalized, or -> failed). */
export async function applyUpdates(tx: Tx, updates: readonly TransferUpdate[], now: Date): Promise<void> {
  if (updates.length === 0) return;
  await tx.query(
    `UPDATE nft_transfers AS t SET
       status = u.status, slot = COALESCE(u.slot, t.slot), error = u.error,
       confirmed_at = COALESCE(t.confirmed_at, u.confirmed_at), confirmation_ms = COALESCE(t.confirmation_ms, u.confirmation_ms),
       last_checked_at = $8, updated_at = $8
     FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[], $7::float8[])
       AS u(id, tenant_id, status, slot, error, confirmed_at, confirmation_ms)
     WHERE t.id = u.id AND t.tenant_id = u.tenant_id AND t.status IN ('pending', 'confirmed')`,
    [
      updates.map((u) => u.id),
      updates.map((u) => u.tenantId),
      updates.map((u) => u.status),
      updates.map((u) => u.slot),
      updates.map((u) => u.error),
      updates.map((u) => u.confirmedAt),
      updates.map((u) => u.confirmationMs),
      now,
    ],
  );
}

/** Marks rows as looked at without an outcome, so the oldest-checked-first order rotates. */
export async function touchChecked(tx: Tx, ids: ReadonlyArray<{ id: string; tenantId: string }>, now: Date): Promise<void> {
  if (ids.length === 0) return;
  await tx.query('UPDATE nft_transfers AS t SET last_checked_at = $3 FROM unnest($1::uuid[], $2::uuid[]) AS u(id, tenant_id) WHERE t.id = u.id AND t.tenant_id = u.tenant_id', [ids.map((i) => i.id), ids.map((i) => i.tenantId), now]);
}
