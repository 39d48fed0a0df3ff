import type { Tx } from '../platform/db/index.js';
import { normaliseMatchers, type Matcher } from './matchers.js';

export interface SilenceRow {
  id: string;
  tenant_id: string;
  matchers: Matcher[];
  starts_at: Date;
  ends_at: Date;
  created_by: string;
  comment: string;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = 'id, tenant_id, matchers, starts_at, ends_at, created_by, comment, created_at, updated_at';
const normalise = (row: SilenceRow): SilenceRow => ({ ...row, matchers: normaliseMatchers(row.matchers) });

export function silenceState(silence: Pick<SilenceRow, 'starts_at' | 'ends_at'>, now: Date): 'pending' | 'active' | 'expired' {
  if (now.getTime() < silence.starts_at.getTime()) return 'pending';
  return now.getTime() < silence.ends_at.getTime() ? 'active' : 'expired';
}

export async function activeSilences(tx: Tx, tenantId: string, now: Date): Promise<SilenceRow[]> {
  const result = await tx.query<SilenceRow>(`SELECT ${COLUMNS} FROM alert_silences WHERE tenant_id = $1 AND starts_at <= $2 AND ends_at > $2`, [tenantId, now]);
  return result.rows.map(normalise);
}

export async function listSilences(
  tx: Tx,
  tenantId: string,
  filter: { state?: 'pending' | 'active' | 'expired'; now: Date; limit: number; offset: number },
): Promise<{ rows: SilenceRow[]; total: number }> {
  const params = [tenantId, filter.state ?? null, filter.now];
  const where = `tenant_id = $1
       AND ($2::text IS NULL OR ($2 = 'pending' AND starts_at > $3) OR ($2 = 'active' AND starts_at <= $3 AND ends_at > $3) OR ($2 = 'expired' AND ends_at <= $3))`;
  const result = await tx.query<SilenceRow>(`SELECT ${COLUMNS} FROM alert_silences WHERE ${where} ORDER BY ends_at DESC, id LIMIT $4 OFFSET $5`, [...params, filter.limit, filter.offset]);
  const total = await tx.query<{ total: number }>(`SELECT count(*)::int AS total FROM alert_silences WHERE ${where}`, params);
  return { rows: result.rows.map(normalise), total: total.rows[0]?.total ?? 0 };
}

export async function getSilence(tx: Tx, tenantId: string, id: string): Promise<SilenceRow | undefined> {
  const result = await tx.query<SilenceRow>(`SELECT ${COLUMNS} FROM alert_silences WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  const row = result.rows[0];
  return row === undefined ? undefined : normalise(row);
}

export async function insertSilence(tx: Tx, tenantId: string, values: { matchers: Matcher[]; starts_at: Date; ends_at: Date; created_by: string; comment: string }, now: Date): Promise<SilenceRow> {
  const result = await tx.query<SilenceRow>(
    `INSERT INTO alert_silences (tenant_id, matchers, starts_at, ends_at, created_by, comment, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$7) RETURNING ${COLUMNS}`,
    [tenantId, JSON.stringify(values.matchers), values.starts_at, values.ends_at, values.created_by, values.comment, now],
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error('silence insert returned no row');
  return normalise(row);
}

export async function updateSilence(tx: Tx, tenantId: string, id: string, values: { matchers: Matcher[]; starts_at: Date; ends_at: Date; comment: string }, now: Date): Promise<SilenceRow | undefined> {
  const result = await tx.query<SilenceRow>(
    `UPDATE alert_silences SET matchers = $3, starts_at = $4, ends_at = $5, comment = $6, updated_at = $7 WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [tenantId, id, JSON.stringify(values.matchers), values.starts_at, values.ends_at, values.comment, now],
  );
  const row = result.rows[0];
  return row === undefined ? undefined : normalise(row);
}

/** Silences of the tenant that have not ended: pending and active ones (LIMIT_SILENCES). */
export async function countOpenSilences(tx: Tx, tenantId: string, now: Date): Promise<number> {
  const result = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM alert_silences WHERE tenant_id = $1 AND ends_at > $2', [tenantId, now]);
  return result.rows[0]?.n ?? 0;
}

/** Pending and active silences of each tenant, for the usage views (system transaction). */
export async function openSilenceCounts(tx: Tx, tenantIds: readonly string[], now: Date): Promise<Map<string, number>> {
  const result = await tx.query<{ tenant_id: string; n: number }>(
    'SELECT tenant_id, count(*)::int AS n FROM alert_silences WHERE tenant_id = ANY($1::uuid[]) AND ends_at > $2 GROUP BY tenant_id',
    [tenantIds, now],
  );
  return new Map(result.rows.map((row) => [row.tenant_id, row.n]));
}

/** Expiring keeps the record (who silenced what, and when): it ends now. */
export async function expireSilence(tx: Tx, tenantId: string, id: string, now: Date): Promise<SilenceRow | undefined> {
  const result = await tx.query<SilenceRow>(
    `UPDATE alert_silences SET starts_at = LEAST(starts_at, $3::timestamptz - interval '1 millisecond'), ends_at = LEAST(ends_at, $3::timestamptz), updated_at = $3
     WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [tenantId, id, now],
  );
  const row = result.rows[0];
  return row === undefined ? undefined : normalise(row);
}
