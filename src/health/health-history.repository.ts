import type { Tx } from '../platform/db/index.js';
import { checkError, type CheckResult, type CheckStatus, type ErrorCategory, type TargetKind } from './check-result.js';

interface HistoryRow {
  target_kind: TargetKind;
  target_name: string;
  status: CheckStatus;
  latency_ms: number | null;
  status_code: number | null;
  error_category: ErrorCategory | null;
  checked_at: Date;
}

/** One statement for the whole cycle. */
export async function insertResults(tx: Tx, tenantId: string, results: readonly CheckResult[]): Promise<void> {
  if (results.length === 0) return;
  await tx.query(
    `INSERT INTO health_check_results (tenant_id, target_kind, target_name, status, latency_ms, status_code, error_category, checked_at)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::float8[], $6::int[], $7::text[], $8::timestamptz[])`,
    [
      tenantId,
      results.map((result) => result.kind),
      results.map((result) => result.name),
      results.map((result) => result.status),
      results.map((result) => result.latency_ms),
      results.map((result) => result.status_code),
      results.map((result) => result.error?.category ?? null),
      results.map((result) => result.checked_at),
    ],
  );
}

export async function deleteOlderThan(tx: Tx, tenantId: string, before: Date): Promise<number> {
  const result = await tx.query('DELETE FROM health_check_results WHERE tenant_id = $1 AND checked_at < $2', [tenantId, before]);
  return result.rowCount;
}

/** The newest result of each target checked in [since, until]. */
export async function latestResults(tx: Tx, tenantId: string, kind: TargetKind, since: Date, until: Date): Promise<CheckResult[]> {
  const { rows } = await tx.query<HistoryRow>(
    `SELECT DISTINCT ON (target_name) target_kind, target_name, status, latency_ms, status_code, error_category, checked_at
     FROM health_check_results WHERE tenant_id = $1 AND target_kind = $2 AND checked_at >= $3 AND checked_at <= $4
     ORDER BY target_name, checked_at DESC`,
    [tenantId, kind, since, until],
  );
  return rows.map((row) => ({
    name: row.target_name,
    kind: row.target_kind,
    status: row.status,
    latency_ms: row.latency_ms,
    status_code: row.status_code,
    error: row.error_category === null ? null : checkError(row.error_category, row.status_code === null ? undefined : `HTTP ${row.status_code}`),
    details: {},
    checked_at: row.checked_at.toISOString(),
  }));
}
