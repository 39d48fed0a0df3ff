import type { Tx } from '../platform/db/index.js';
import type { ReportFormat, ReportQuery } from './report.schema.js';

export interface ReportRow {
  id: string;
  tenant_id: string;
  user_id: string;
  name: string;
  query: ReportQuery;
  format: ReportFormat;
  schedule: string | null;
  recipients: string[];
  enabled: boolean;
  next_run_at: Date | null;
  last_run_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export type EmailStatus = 'not_requested' | 'sent' | 'retrying' | 'failed' | 'not_configured';

export interface HistoryRow {
  id: string;
  tenant_id: string;
  report_id: string;
  trigger: 'schedule' | 'manual';
  status: 'running' | 'succeeded' | 'failed';
  scheduled_for: Date | null;
  generated_at: Date;
  range_from: Date | null;
  range_to: Date | null;
  format: ReportFormat | null;
  file_url: string | null;
  file_path: string | null;
  row_count: number | null;
  byte_size: number | null;
  error: string | null;
  email_status: EmailStatus | null;
  email_attempts: number;
  email_error: string | null;
  emailed_at: Date | null;
}

const REPORT_COLUMNS = 'id, tenant_id, user_id, name, query, format, schedule, recipients, enabled, next_run_at, last_run_at, created_at, updated_at';
const HISTORY_COLUMNS = `id, tenant_id, report_id, trigger, status, scheduled_for, generated_at, range_from, range_to, format, file_url, file_path,
  row_count, byte_size, error, email_status, email_attempts, email_error, emailed_at`;

/** What a definition write sets: the row's own fields, so the two cannot drift apart. */
export type ReportValues = Pick<ReportRow, 'name' | 'query' | 'format' | 'schedule' | 'recipients' | 'enabled' | 'next_run_at'>;

/** $3..$9 of both writes, in the column order they name. */
const valueParams = (values: ReportValues): unknown[] => [
  values.name,
  JSON.stringify(values.query),
  values.format,
  values.schedule,
  JSON.stringify(values.recipients),
  values.enabled,
  values.next_run_at,
];

export async function insertReport(tx: Tx, tenantId: string, userId: string, values: ReportValues, now: Date): Promise<ReportRow> {
  const result = await tx.query<ReportRow>(
    `INSERT INTO reports (tenant_id, user_id, name, query, format, schedule, recipients, enabled, next_run_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING ${REPORT_COLUMNS}`,
    [tenantId, userId, ...valueParams(values), now],
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error('insert returned no row');
  return row;
}

export async function updateReport(tx: Tx, tenantId: string, id: string, values: ReportValues, now: Date): Promise<ReportRow | null> {
  const result = await tx.query<ReportRow>(
    `UPDATE reports SET name = $3, query = $4, format = $5, schedule = $6, recipients = $7, enabled = $8, next_run_at = $9, updated_at = $10
     WHERE tenant_id = $1 AND id = $2 RETURNING ${REPORT_COLUMNS}`,
    [tenantId, id, ...valueParams(values), now],
  );
  return result.rows[0] ?? null;
}

export async function findReport(tx: Tx, tenantId: string, id: string): Promise<ReportRow | null> {
  const result = await tx.query<ReportRow>(`SELECT ${REPORT_COLUMNS} FROM reports WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return result.rows[0] ?? null;
}

export async function listReports(tx: Tx, tenantId: string): Promise<ReportRow[]> {
  const result = await tx.query<ReportRow>(`SELECT ${REPORT_COLUMNS} FROM reports WHERE tenant_id = $1 ORDER BY created_at, id`, [tenantId]);
  return result.rows;
}

export async function deleteReport(tx: Tx, tenantId: string, id: string): Promise<boolean> {
  const result = await tx.query('DELETE FROM reports WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return result.rowCount === 1;
}

/** Reports by id, across tenants (system work). */
export async function reportsByIds(tx: Tx, ids: readonly string[]): Promise<ReportRow[]> {
  const result = await tx.query<ReportRow>(`SELECT ${REPORT_COLUMNS} FROM reports WHERE id = ANY($1::uuid[])`, [ids]);
  return result.rows;
}

/** Scheduled reports whose time has come, across tenants (system work). */
export async function dueReports(tx: Tx, now: Date, limit: number): Promise<ReportRow[]> {
  const result = await tx.query<ReportRow>(
    `SELECT ${REPORT_COLUMNS} FROM reports WHERE enabled AND next_run_at IS NOT NULL AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2`,
    [now, limit],
  );
  return result.rows;
}

/**
 * Claims one scheduled run: the UNIQUE (report_id, scheduled_for) makes the insert succeed on
 * exactly one instance; the others get null and leave the run alone.
 */
export async function claimRun(tx: Tx, report: ReportRow, scheduledFor: Date | null, trigger: 'schedule' | 'manual', now: Date): Promise<HistoryRow | null> {
  const result = await tx.query<HistoryRow>(
    `INSERT INTO report_history (tenant_id, report_id, trigger, status, scheduled_for, generated_at, format)
     VALUES ($1, $2, $3, 'running', $4, $5, $6)
     ON CONFLICT (report_id, scheduled_for) DO NOTHING RETURNING ${HISTORY_COLUMNS}`,
    [report.tenant_id, report.id, trigger, scheduledFor, now, report.format],
  );
  return result.rows[0] ?? null;
}

export async function advanceSchedule(tx: Tx, report: ReportRow, nextRunAt: Date | null, ranAt: Date): Promise<void> {
  await tx.query('UPDATE reports SET next_run_at = $3, last_run_at = $4 WHERE tenant_id = $1 AND id = $2', [report.tenant_id, report.id, nextRunAt, ranAt]);
}

/** What closing a run sets: the history row's own fields, with a final status. */
export type Finished = Pick<HistoryRow, 'range_from' | 'range_to' | 'file_url' | 'file_path' | 'row_count' | 'byte_size' | 'error' | 'email_status'> & {
  status: Exclude<HistoryRow['status'], 'running'>;
};

export async function finishRun(tx: Tx, tenantId: string, id: string, finished: Finished): Promise<HistoryRow> {
  const result = await tx.query<HistoryRow>(
    `UPDATE report_history SET status = $3, range_from = $4, range_to = $5, file_url = $6, file_path = $7, row_count = $8, byte_size = $9, error = $10, email_status = $11
     WHERE tenant_id = $1 AND id = $2 RETURNING ${HISTORY_COLUMNS}`,
    [tenantId, id, finished.status, finished.range_from, finished.range_to, finished.file_url, finished.file_path, finished.row_count, finished.byte_size, finished.error, finished.email_status],
  );
  const row = result.rows[0];
  if (row === undefined) throw new Error(`report_history ${id} vanished`);
  return row;
}

export async function recordEmail(tx: Tx, tenantId: string, id: string, outcome: { status: EmailStatus; error: string | null; at: Date }): Promise<HistoryRow | null> {
  const result = await tx.query<HistoryRow>(
    `UPDATE report_history SET email_status = $3, email_error = $4, email_attempts = email_attempts + 1,
       emailed_at = CASE WHEN $3 = 'sent' THEN $5::timestamptz ELSE emailed_at END
     WHERE tenant_id = $1 AND id = $2 RETURNING ${HISTORY_COLUMNS}`,
    [tenantId, id, outcome.status, outcome.error, outcome.at],
  );
  return result.rows[0] ?? null;
}

/** Succeeded runs whose e-mail is to be retried, across tenants (system work). */
export async function emailRetries(tx: Tx, limit: number): Promise<HistoryRow[]> {
  const result = await tx.query<HistoryRow>(`SELECT ${HISTORY_COLUMNS} FROM report_history WHERE email_status = 'retrying' ORDER BY generated_at LIMIT $1`, [limit]);
  return result.rows;
}

export async function listHistory(tx: Tx, tenantId: string, reportId: string, limit: number): Promise<HistoryRow[]> {
  const result = await tx.query<HistoryRow>(
    `SELECT ${HISTORY_COLUMNS} FROM report_history WHERE tenant_id = $1 AND report_id = $2 ORDER BY generated_at DESC, id DESC LIMIT $3`,
    [tenantId, reportId, limit],
  );
  return result.rows;
}

export async function findHistory(tx: Tx, tenantId: string, reportId: string, id: string): Promise<HistoryRow | null> {
  const result = await tx.query<HistoryRow>(`SELECT ${HISTORY_COLUMNS} FROM report_history WHERE tenant_id = $1 AND report_id = $2 AND id = $3`, [tenantId, reportId, id]);
  return result.rows[0] ?? null;
}
