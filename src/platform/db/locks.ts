import type { Tx } from './db.js';

/**
 * Serializes transactions on one key until they end (pg_advisory_xact_lock): a count checked
 * before an insert stays true until the insert commits. PGlite runs one transaction at a time,
 * so there it holds trivially.
 */
export async function lockKey(tx: Tx, key: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [key]);
}
