import type { Tx } from '../platform/db/index.js';

/** Aggregates of one series over one rule's window. */
export interface SeriesWindow {
  rule_id: string;
  series_key: string;
  service_name: string;
  labels: Record<string, string>;
  n: number;
  avg: number;
  min: number;
  max: number;
  sum: number;
  last: number;
  first: number;
  span_seconds: number;
}

/**
 * Reads every enabled rule's window in one statement: per rule and series, the aggregates the
 * rule may ask for. The outer time bound lets PostgreSQL prune partitions; each rule then uses
 * the tenant-first (tenant_id, metric_name, timestamp) index for its own window.
 */
export async function readRuleWindows(tx: Tx, tenantId: string, now: Date, longestWindowSeconds: number): Promise<SeriesWindow[]> {
  const oldest = new Date(now.getTime() - longestWindowSeconds * 1000);
  const result = await tx.query<SeriesWindow>(
    `SELECT r.id AS rule_id, m.series_key, min(m.service_name) AS service_name,
       (array_agg(m.labels ORDER BY m."timestamp" DESC))[1] AS labels,
       count(*)::int AS n, avg(m.value) AS avg, min(m.value) AS min, max(m.value) AS max, sum(m.value) AS sum,
       (array_agg(m.value ORDER BY m."timestamp" DESC))[1] AS last,
       (array_agg(m.value ORDER BY m."timestamp" ASC))[1] AS first,
       extract(epoch FROM max(m."timestamp") - min(m."timestamp"))::float8 AS span_seconds
     FROM alert_rules r
     JOIN metrics m ON m.tenant_id = $1 AND m.metric_name = r.metric_name
       AND (r.service_name IS NULL OR m.service_name = r.service_name)
       AND m."timestamp" > $2::timestamptz - make_interval(secs => r.window_seconds) AND m."timestamp" <= $2::timestamptz
       AND m."timestamp" > $3::timestamptz
     WHERE r.tenant_id = $1 AND r.enabled = true
     GROUP BY r.id, m.series_key`,
    [tenantId, now, oldest],
  );
  return result.rows;
}

export interface OpenRuleAlert {
  id: string;
  fingerprint: string;
  rule_id: string;
  status: 'pending' | 'firing';
  starts_at: Date;
  keep_firing_since: Date | null;
}

export async function openRuleAlerts(tx: Tx, tenantId: string): Promise<OpenRuleAlert[]> {
  const result = await tx.query<OpenRuleAlert>(
    `SELECT id, fingerprint, rule_id, status, starts_at, keep_firing_since FROM alerts
     WHERE tenant_id = $1 AND resolved = false AND rule_id IS NOT NULL`,
    [tenantId],
  );
  return result.rows;
}

/** Latest resolution per fingerprint, for rule cooldowns. */
export async function lastResolutions(tx: Tx, tenantId: string, fingerprints: string[]): Promise<Map<string, Date>> {
  if (fingerprints.length === 0) return new Map();
  const result = await tx.query<{ fingerprint: string; resolved_at: Date }>(
    `SELECT fingerprint, max(resolved_at) AS resolved_at FROM alerts WHERE tenant_id = $1 AND fingerprint = ANY($2::text[]) AND resolved = true GROUP BY fingerprint`,
    [tenantId, fingerprints],
  );
  return new Map(result.rows.map((row) => [row.fingerprint, row.resolved_at]));
}

/** Steady state: refresh the value of alerts whose state did not change, in one statement. */
export async function refreshAlerts(tx: Tx, tenantId: string, now: Date, updates: Array<{ id: string; value: number | null }>): Promise<void> {
  if (updates.length === 0) return;
  await tx.query(
    `UPDATE alerts a SET value = u.value, last_evaluated_at = $2, keep_firing_since = NULL
     FROM unnest($3::uuid[], $4::float8[]) AS u(id, value) WHERE a.tenant_id = $1 AND a.id = u.id`,
    [tenantId, now, updates.map((u) => u.id), updates.map((u) => u.value)],
  );
}

export async function markKeepFiring(tx: Tx, tenantId: string, now: Date, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.query(`UPDATE alerts SET keep_firing_since = $2, last_evaluated_at = $2 WHERE tenant_id = $1 AND id = ANY($3::uuid[])`, [tenantId, now, ids]);
}

export async function tenantsToEvaluate(tx: Tx): Promise<string[]> {
  const result = await tx.query<{ tenant_id: string }>(
    `SELECT tenant_id FROM alert_rules WHERE enabled = true
     UNION SELECT tenant_id FROM alerts WHERE resolved = false AND rule_id IS NOT NULL`,
  );
  return result.rows.map((row) => row.tenant_id);
}
