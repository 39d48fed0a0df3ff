import type { Tx } from '../platform/db/index.js';

export interface KeyClaim {
  key: string;
  accepted: number;
  batchHash: string;
  at: Date;
}

/** The first answer given under a key. */
export interface FirstAnswer {
  accepted: number;
  batchHash: string;
}

/**
 * Claims a key in the caller's transaction, or returns the answer already recorded under it. A
 * concurrent claim of the same key waits on the primary key until the other transaction ends:
 * after its commit the insert does nothing and the next statement (a fresh snapshot under READ
 * COMMITTED) reads its answer; after its rollback the insert claims the key.
 */
export async function claimIdempotencyKey(tx: Tx, tenantId: string, claim: KeyClaim): Promise<FirstAnswer | 'claimed'> {
  // Twice at most: a key pruned between the two statements is claimed on the second pass.
  for (let attempt = 0; attempt < 2; attempt += 1) {
    const inserted = await tx.query(
      `INSERT INTO ingest_idempotency (tenant_id, idempotency_key, accepted, request_hash, created_at)
       VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, idempotency_key) DO NOTHING RETURNING 1`,
      [tenantId, claim.key, claim.accepted, claim.batchHash, claim.at.toISOString()],
    );
    if (inserted.rowCount > 0) return 'claimed';
    const first = await tx.query<{ accepted: number; request_hash: string }>('SELECT accepted, request_hash FROM ingest_idempotency WHERE tenant_id = $1 AND idempotency_key = $2', [
      tenantId,
      claim.key,
    ]);
    const row = first.rows[0];
    if (row !== undefined) return { accepted: Number(row.accepted), batchHash: row.request_hash };
  }
  throw new Error('idempotency key neither claimed nor found');
}

/** Forgets keys recorded before `cutoff` (system transaction, every tenant). */
export async function pruneIdempotencyKeys(tx: Tx, cutoff: Date): Promise<number> {
  const result = await tx.query('DELETE FROM ingest_idempotency WHERE created_at < $1', [cutoff.toISOString()]);
  return result.rowCount;
}
