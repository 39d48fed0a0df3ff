import type { Db, Tx } from '../platform/db/index.js';
import type { ApiKeyScope } from './principal.js';

export interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string;
  key_prefix: string;
  scopes: ApiKeyScope[];
  created_by: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

const COLUMNS = 'id, tenant_id, name, key_prefix, scopes, created_by, created_at, expires_at, revoked_at, last_used_at';

export async function insertApiKey(tx: Tx, row: Omit<ApiKeyRow, 'revoked_at' | 'last_used_at'> & { key_hash: string }): Promise<ApiKeyRow> {
  const result = await tx.query<ApiKeyRow>(
    `INSERT INTO api_keys (id, tenant_id, name, key_prefix, key_hash, scopes, created_by, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6::text[], $7, $8, $9) RETURNING ${COLUMNS}`,
    [row.id, row.tenant_id, row.name, row.key_prefix, row.key_hash, row.scopes, row.created_by, row.created_at, row.expires_at],
  );
  const [inserted] = result.rows;
  if (inserted === undefined) throw new Error('api key not inserted');
  return inserted;
}

export async function listApiKeys(tx: Tx, tenantId: string): Promise<ApiKeyRow[]> {
  const result = await tx.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE tenant_id = $1 ORDER BY created_at DESC, id`, [tenantId]);
  return result.rows;
}

export async function findApiKey(tx: Tx, tenantId: string, id: string): Promise<ApiKeyRow | undefined> {
  const result = await tx.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return result.rows[0];
}

/** Revokes a key that is not revoked yet; returns it as it is now (undefined: no such key). */
export async function revokeApiKey(tx: Tx, tenantId: string, id: string, at: Date): Promise<ApiKeyRow | undefined> {
  await tx.query('UPDATE api_keys SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL', [tenantId, id, at]);
  return findApiKey(tx, tenantId, id);
}

/** The key with this hash, whatever its tenant (its tenant is what the lookup finds out): system work. */
export async function apiKeyByHash(db: Db, keyHash: string): Promise<ApiKeyRow | undefined> {
  const result = await db.asSystem((tx) => tx.query<ApiKeyRow>(`SELECT ${COLUMNS} FROM api_keys WHERE key_hash = $1`, [keyHash]));
  return result.rows[0];
}

export async function touchApiKey(db: Db, id: string, at: Date): Promise<void> {
  await db.asSystem((tx) => tx.query('UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)', [id, at]));
}

/** Keys that still work (neither revoked nor expired), per tenant: what LIMIT_API_KEYS counts. */
export async function usableApiKeyCounts(tx: Tx, tenantIds: readonly string[], now: Date): Promise<Map<string, number>> {
  const result = await tx.query<{ tenant_id: string; n: number }>(
    'SELECT tenant_id, count(*)::int AS n FROM api_keys WHERE tenant_id = ANY($1::uuid[]) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) GROUP BY tenant_id',
    [tenantIds, now],
  );
  return new Map(result.rows.map((row) => [row.tenant_id, row.n]));
}
