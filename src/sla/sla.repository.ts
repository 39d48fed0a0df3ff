import type { Tx } from '../platform/db/index.js';

export interface UptimeRow {
  service_name: string;
  checks_total: number;
  checks_up: number;
}

export interface ResponseTimeRow {
  service_name: string;
  requests_total: number;
  p95: number;
}

/** Platform services are named `payment` in health checks and `payment-service` by callers: one key for both. */
const SERVICE_KEY = (column: string) => `regexp_replace(${column}, '-service$', '')`;

/** Up = healthy or degraded (the service answered); down = unhealthy. */
export async function uptimeByService(tx: Tx, tenantId: string, from: Date, to: Date): Promise<UptimeRow[]> {
  const { rows } = await tx.query<UptimeRow>(
    `SELECT ${SERVICE_KEY('target_name')} AS service_name, count(*)::int AS checks_total, (count(*) FILTER (WHERE status <> 'unhealthy'))::int AS checks_up
     FROM health_check_results WHERE tenant_id = $1 AND target_kind = 'service' AND checked_at >= $2 AND checked_at < $3
     GROUP BY 1`,
    [tenantId, from, to],
  );
  return rows;
}

export async function responseTimeByService(tx: Tx, tenantId: string, from: Date, to: Date): Promise<ResponseTimeRow[]> {
  const { rows } = await tx.query<ResponseTimeRow>(
    `SELECT ${SERVICE_KEY('service_name')} AS service_name, count(*)::int AS requests_total,
            percentile_cont(0.95) WITHIN GROUP (ORDER BY response_time_ms) AS p95
     FROM performance_metrics WHERE tenant_id = $1 AND "timestamp" >= $2 AND "timestamp" < $3
     GROUP BY 1`,
    [tenantId, from, to],
  );
  return rows;
}

/** Tenants with anything to compute for the period (system work: the job spans tenants). */
export async function tenantsWithData(tx: Tx, from: Date, to: Date): Promise<string[]> {
  const { rows } = await tx.query<{ tenant_id: string }>(
    `SELECT DISTINCT tenant_id FROM health_check_results WHERE target_kind = 'service' AND checked_at >= $1 AND checked_at < $2
     UNION SELECT DISTINCT tenant_id FROM performance_metrics WHERE "timestamp" >= $1 AND "timestamp" < $2`,
    [from, to],
  );
  return rows.map((row) => row.tenant_id);
}

/** Tenants with data in the period but no stored row of it: those whose computation failed (or found nothing to store). */
export async function tenantsWithoutSla(tx: Tx, from: Date, to: Date): Promise<string[]> {
  const tenants = await tenantsWithData(tx, from, to);
  if (tenants.length === 0) return [];
  const { rows } = await tx.query<{ tenant_id: string }>(
    `SELECT t.tenant_id FROM unnest($1::uuid[]) AS t(tenant_id)
     WHERE NOT EXISTS (SELECT 1 FROM sla_metrics s WHERE s.tenant_id = t.tenant_id AND s.period_start = $2 AND s.period_end = $3)`,
    [tenants, from, to],
  );
  return rows.map((row) => row.tenant_id);
}

export interface SlaViolation {
  type: 'uptime' | 'response_time_p95';
  target: number;
  actual: number;
}

export interface StoredSlaRow {
  service_name: string;
  period_start: Date;
  period_end: Date;
  uptime_percentage: number | null;
  response_time_p95: number | null;
  target_uptime_percentage: number;
  target_response_time_ms: number;
  checks_total: number;
  violations: SlaViolation[];
}

export async function upsertSla(tx: Tx, tenantId: string, rows: readonly StoredSlaRow[]): Promise<void> {
  if (rows.length === 0) return;
  await tx.query(
    `INSERT INTO sla_metrics (tenant_id, service_name, period_start, period_end, uptime_percentage, response_time_p95, target_uptime_percentage, target_response_time_ms, checks_total, violations)
     SELECT $1, s, ps, pe, u, p, tu, tr, c, v::jsonb FROM unnest($2::text[], $3::timestamptz[], $4::timestamptz[], $5::float8[], $6::float8[], $7::float8[], $8::float8[], $9::int[], $10::text[]) AS x(s, ps, pe, u, p, tu, tr, c, v)
     ON CONFLICT (tenant_id, service_name, period_start, period_end) DO UPDATE SET
       uptime_percentage = EXCLUDED.uptime_percentage, response_time_p95 = EXCLUDED.response_time_p95,
       target_uptime_percentage = EXCLUDED.target_uptime_percentage, target_response_time_ms = EXCLUDED.target_response_time_ms,
       checks_total = EXCLUDED.checks_total, violations = EXCLUDED.violations`,
    [
      tenantId,
      rows.map((row) => row.service_name),
      rows.map((row) => row.period_start),
      rows.map((row) => row.period_end),
      rows.map((row) => row.uptime_percentage),
      rows.map((row) => row.response_time_p95),
      rows.map((row) => row.target_uptime_percentage),
      rows.map((row) => row.target_response_time_ms),
      rows.map((row) => row.checks_total),
      rows.map((row) => JSON.stringify(row.violations)),
    ],
  );
}

/** Stored periods that lie inside [from, to). */
export async function storedSla(tx: Tx, tenantId: string, from: Date, to: Date, service: string | null): Promise<StoredSlaRow[]> {
  const { rows } = await tx.query<StoredSlaRow>(
    `SELECT service_name, period_start, period_end, uptime_percentage, response_time_p95, target_uptime_percentage, target_response_time_ms, checks_total, violations
     FROM sla_metrics WHERE tenant_id = $1 AND period_start >= $2 AND period_end <= $3 AND ($4::text IS NULL OR service_name = $4)
     ORDER BY period_start DESC, service_name LIMIT 1000`,
    [tenantId, from, to, service],
  );
  return rows;
}
