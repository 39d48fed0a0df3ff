import type { Tx } from '../platform/db/index.js';
import { ALERT_COLUMNS, type AlertRow, type Severity } from './alert-store.js';

export interface AlertFilter {
  severity?: Severity;
  status?: 'pending' | 'firing' | 'resolved';
  service?: string;
  type?: string;
  acknowledged?: boolean;
  ruleId?: string;
  from?: string;
  to?: string;
  openOnly: boolean;
  limit: number;
  offset: number;
}

export async function listAlerts(tx: Tx, tenantId: string, filter: AlertFilter): Promise<{ rows: AlertRow[]; total: number }> {
  const params = [tenantId, filter.severity ?? null, filter.status ?? null, filter.service ?? null, filter.type ?? null, filter.acknowledged ?? null, filter.ruleId ?? null,
    filter.from ?? null, filter.to ?? null, filter.openOnly];
  const where = `tenant_id = $1 AND ($2::text IS NULL OR severity = $2) AND ($3::text IS NULL OR status = $3) AND ($4::text IS NULL OR service_name = $4)
    AND ($5::text IS NULL OR type = $5) AND ($6::boolean IS NULL OR (acknowledged_at IS NOT NULL) = $6) AND ($7::uuid IS NULL OR rule_id = $7)
    AND ($8::timestamptz IS NULL OR created_at >= $8) AND ($9::timestamptz IS NULL OR created_at < $9) AND (NOT $10::boolean OR resolved = false)`;
  const rows = await tx.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE ${where} ORDER BY created_at DESC, id LIMIT $11 OFFSET $12`, [...params, filter.limit, filter.offset]);
  const total = await tx.query<{ total: number }>(`SELECT count(*)::int AS total FROM alerts WHERE ${where}`, params);
  return { rows: rows.rows, total: total.rows[0]?.total ?? 0 };
}

export interface AlertEventRow {
  id: number;
  kind: string;
  actor: string | null;
  details: Record<string, unknown>;
  at: Date;
}

export async function alertEvents(tx: Tx, tenantId: string, alertId: string): Promise<AlertEventRow[]> {
  const result = await tx.query<AlertEventRow>('SELECT id, kind, actor, details, at FROM alert_events WHERE tenant_id = $1 AND alert_id = $2 ORDER BY id', [tenantId, alertId]);
  return result.rows;
}

export interface EscalationView {
  status: string;
  level: number;
  cycle: number;
  next_at: Date;
  stop_reason: string | null;
  started_at: Date;
}

export async function escalationOf(tx: Tx, tenantId: string, alertId: string): Promise<EscalationView | undefined> {
  const result = await tx.query<EscalationView>('SELECT status, level, cycle, next_at, stop_reason, started_at FROM alert_escalations WHERE tenant_id = $1 AND alert_id = $2', [tenantId, alertId]);
  return result.rows[0];
}
