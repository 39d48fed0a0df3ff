import type { Tx } from '../../platform/db/index.js';
import type { ChannelName } from '../channels.js';
import type { Sealed } from './secret-box.js';

export interface ReceiverRow {
  tenant_id: string;
  channel: ChannelName;
  settings: Record<string, unknown>;
  secret_ciphertext: string | null;
  secret_key_id: string | null;
  secret_hints: Record<string, string | null>;
  updated_by: string;
  updated_at: Date;
}

const COLUMNS = 'tenant_id, channel, settings, secret_ciphertext, secret_key_id, secret_hints, updated_by, updated_at';

export async function listReceivers(tx: Tx, tenantId: string): Promise<ReceiverRow[]> {
  const result = await tx.query<ReceiverRow>(`SELECT ${COLUMNS} FROM tenant_receivers WHERE tenant_id = $1 ORDER BY channel`, [tenantId]);
  return result.rows;
}

export async function getReceiver(tx: Tx, tenantId: string, channel: ChannelName): Promise<ReceiverRow | undefined> {
  const result = await tx.query<ReceiverRow>(`SELECT ${COLUMNS} FROM tenant_receivers WHERE tenant_id = $1 AND channel = $2`, [tenantId, channel]);
  return result.rows[0];
}

export async function configuredChannels(tx: Tx, tenantId: string): Promise<Set<ChannelName>> {
  const result = await tx.query<{ channel: ChannelName }>('SELECT channel FROM tenant_receivers WHERE tenant_id = $1', [tenantId]);
  return new Set(result.rows.map((row) => row.channel));
}

export async function upsertReceiver(
  tx: Tx,
  tenantId: string,
  channel: ChannelName,
  receiver: { settings: Record<string, unknown>; sealed: Sealed | null; hints: Record<string, string | null>; updatedBy: string; updatedAt: Date },
): Promise<ReceiverRow> {
  const result = await tx.query<ReceiverRow>(
    `INSERT INTO tenant_receivers (tenant_id, channel, settings, secret_ciphertext, secret_key_id, secret_hints, updated_by, updated_at)
     VALUES ($1, $2, $3::jsonb, $4, $5, $6::jsonb, $7, $8)
     ON CONFLICT (tenant_id, channel) DO UPDATE SET settings = EXCLUDED.settings, secret_ciphertext = EXCLUDED.secret_ciphertext, secret_key_id = EXCLUDED.secret_key_id,
       secret_hints = EXCLUDED.secret_hints, updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at
     RETURNING ${COLUMNS}`,
    [tenantId, channel, JSON.stringify(receiver.settings), receiver.sealed?.ciphertext ?? null, receiver.sealed?.keyId ?? null, JSON.stringify(receiver.hints), receiver.updatedBy, receiver.updatedAt],
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error('tenant_receivers upsert returned no row');
  return row;
}

export async function deleteReceiver(tx: Tx, tenantId: string, channel: ChannelName): Promise<boolean> {
  const result = await tx.query('DELETE FROM tenant_receivers WHERE tenant_id = $1 AND channel = $2', [tenantId, channel]);
  return result.rowCount > 0;
}

/** Secrets sealed under another key than `keyId`, after `after` in (tenant, channel) order (system work: every tenant's rows). */
export async function sealedUnderOtherKeys(tx: Tx, keyId: string, after: { tenantId: string; channel: string } | null, limit: number): Promise<ReceiverRow[]> {
  const result = await tx.query<ReceiverRow>(
    `SELECT ${COLUMNS} FROM tenant_receivers
     WHERE secret_key_id IS NOT NULL AND secret_key_id <> $1 AND ($2::uuid IS NULL OR (tenant_id, channel) > ($2::uuid, $3::text))
     ORDER BY tenant_id, channel LIMIT $4`,
    [keyId, after?.tenantId ?? null, after?.channel ?? '', limit],
  );
  return result.rows;
}

/** Replaces a secret's box if the row still holds the one that was read; false: it changed meanwhile. */
export async function reseal(tx: Tx, row: Pick<ReceiverRow, 'tenant_id' | 'channel' | 'secret_ciphertext'>, sealed: Sealed): Promise<boolean> {
  const result = await tx.query(
    'UPDATE tenant_receivers SET secret_ciphertext = $4, secret_key_id = $5 WHERE tenant_id = $1 AND channel = $2 AND secret_ciphertext = $3',
    [row.tenant_id, row.channel, row.secret_ciphertext, sealed.ciphertext, sealed.keyId],
  );
  return result.rowCount > 0;
}
