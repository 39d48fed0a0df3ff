import type { Tx } from '../platform/db/index.js';

export interface AnnotationRow {
  time: number;
  timeEnd?: number;
  title: string;
  tags: string[];
  text: string;
}

/** Fraud events of the range, newest first. */
export async function fraudAnnotations(tx: Tx, tenantId: string, from: Date, to: Date, limit: number): Promise<AnnotationRow[]> {
  const result = await tx.query<{ timestamp: Date; pattern: string; risk_level: string; risk_score: number; user_id: string; investigated: boolean; investigation_outcome: string | null }>(
    `SELECT "timestamp", pattern, risk_level, risk_score, user_id, investigated, investigation_outcome FROM fraud_events
     WHERE tenant_id = $1 AND "timestamp" >= $2 AND "timestamp" <= $3 ORDER BY "timestamp" DESC LIMIT $4`,
    [tenantId, from.toISOString(), to.toISOString(), limit],
  );
  return result.rows.map((row) => ({
    time: row.timestamp.getTime(),
    title: `Fraud: ${row.pattern} (${row.risk_level})`,
    tags: ['fraud', row.risk_level, row.pattern],
    text: `user ${row.user_id}, risk score ${row.risk_score}${row.investigated ? `, investigated: ${row.investigation_outcome ?? 'yes'}` : ''}`,
  }));
}

/** Alerts that started in the range; resolved ones carry timeEnd. */
export async function alertAnnotations(tx: Tx, tenantId: string, from: Date, to: Date, limit: number): Promise<AnnotationRow[]> {
  const result = await tx.query<{ starts_at: Date; resolved_at: Date | null; name: string; severity: string; status: string; message: string; service_name: string | null }>(
    `SELECT starts_at, resolved_at, name, severity, status, message, service_name FROM alerts
     WHERE tenant_id = $1 AND starts_at >= $2 AND starts_at <= $3 ORDER BY starts_at DESC LIMIT $4`,
    [tenantId, from.toISOString(), to.toISOString(), limit],
  );
  return result.rows.map((row) => ({
    time: row.starts_at.getTime(),
    ...(row.resolved_at === null ? {} : { timeEnd: row.resolved_at.getTime() }),
    title: `Alert: ${row.name} (${row.severity}, ${row.status})`,
    tags: ['alert', row.severity, row.status, ...(row.service_name === null ? [] : [row.service_name])],
    text: row.message,
  }));
}
