import type { Tx } from '../../platform/db/index.js';
import type { RiskLevel } from './fraud-rules.js';

export interface FraudEventRow {
  id: string;
  user_id: string;
  pattern: string;
  risk_level: RiskLevel;
  risk_score: number;
  data: Record<string, unknown>;
  investigated: boolean;
  investigation_outcome: 'confirmed' | 'false_positive' | null;
  investigated_by: string | null;
  investigated_at: Date | null;
  timestamp: Date;
}

const COLUMNS = 'id, user_id, pattern, risk_level, risk_score, data, investigated, investigation_outcome, investigated_by, investigated_at, "timestamp"';

export interface CheckEventInput {
  userId: string;
  pattern: string;
  riskLevel: RiskLevel;
  riskScore: number;
  data: Record<string, unknown>;
  timestamp: Date;
}

/**
 * Stores many fraud events in one statement; each is skipped when its user and pattern already has
 * one at this (bucketed) time. Answers the stored rows (callers match them on user, pattern, time).
 */
export async function insertCheckEvents(tx: Tx, tenantId: string, events: readonly CheckEventInput[]): Promise<FraudEventRow[]> {
  const column = <T>(pick: (event: CheckEventInput) => T) => events.map(pick);
  const result = await tx.query<FraudEventRow>(
    `INSERT INTO fraud_events (tenant_id, user_id, pattern, risk_level, risk_score, data, "timestamp")
     SELECT $1, e.user_id, e.pattern, e.risk_level, e.risk_score, e.data::jsonb, e.at
     FROM unnest($2::text[], $3::text[], $4::text[], $5::float8[], $6::text[], $7::timestamptz[]) AS e(user_id, pattern, risk_level, risk_score, data, at)
     ON CONFLICT (tenant_id, user_id, pattern, "timestamp") DO NOTHING RETURNING ${COLUMNS}`,
    [tenantId, column((e) => e.userId), column((e) => e.pattern), column((e) => e.riskLevel), column((e) => e.riskScore), column((e) => JSON.stringify(e.data)), column((e) => e.timestamp)],
  );
  return result.rows;
}

export async function findEvent(tx: Tx, tenantId: string, id: string): Promise<FraudEventRow | undefined> {
  const result = await tx.query<FraudEventRow>(`SELECT ${COLUMNS} FROM fraud_events WHERE tenant_id = $1 AND id = $2 FOR UPDATE`, [tenantId, id]);
  return result.rows[0];
}

export async function markInvestigated(tx: Tx, tenantId: string, id: string, outcome: 'confirmed' | 'false_positive', by: string, at: Date): Promise<FraudEventRow | undefined> {
  const result = await tx.query<FraudEventRow>(
    `UPDATE fraud_events SET investigated = true, investigation_outcome = $3, investigated_by = $4, investigated_at = $5
     WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [tenantId, id, outcome, by, at],
  );
  return result.rows[0];
}

export async function listEvents(tx: Tx, tenantId: string, filter: { investigated?: boolean; pattern?: string; limit: number }): Promise<FraudEventRow[]> {
  const result = await tx.query<FraudEventRow>(
    `SELECT ${COLUMNS} FROM fraud_events WHERE tenant_id = $1 AND ($2::boolean IS NULL OR investigated = $2) AND ($3::text IS NULL OR pattern = $3)
     ORDER BY "timestamp" DESC LIMIT $4`,
    [tenantId, filter.investigated ?? null, filter.pattern ?? null, filter.limit],
  );
  return result.rows;
}

/** Investigated events carrying the network's features (events from other services may not), newest investigation first, with the rule score the check gave (null if not recorded). */
export async function labelledExamples(tx: Tx, tenantId: string, limit: number): Promise<Array<{ features: number[]; label: number; ruleScore: number | null }>> {
  const result = await tx.query<{ features: unknown; outcome: string; rule_score: number | null }>(
    `SELECT data->'features' AS features, investigation_outcome AS outcome, (data->>'rule_score')::float8 AS rule_score FROM fraud_events
     WHERE tenant_id = $1 AND investigated = true AND investigation_outcome IS NOT NULL AND jsonb_typeof(data->'features') = 'array'
     ORDER BY investigated_at DESC LIMIT $2`,
    [tenantId, limit],
  );
  return result.rows
    .filter((row): row is { features: number[]; outcome: string; rule_score: number | null } => Array.isArray(row.features) && row.features.length === 10 && row.features.every((x) => typeof x === 'number'))
    .map((row) => ({ features: row.features, label: row.outcome === 'confirmed' ? 1 : 0, ruleScore: row.rule_score }));
}

/** Tenants with investigations newer than their latest fraud model (what the training job retrains). */
export async function tenantsToRetrain(tx: Tx, minEvents: number): Promise<string[]> {
  const result = await tx.query<{ tenant_id: string }>(
    `SELECT f.tenant_id FROM fraud_events f
     WHERE f.investigated = true AND f.investigation_outcome IS NOT NULL
     GROUP BY f.tenant_id
     HAVING count(*) >= $1 AND count(DISTINCT f.investigation_outcome) = 2
        AND max(f.investigated_at) > COALESCE((SELECT max(m.trained_at) FROM ml_models m WHERE m.tenant_id = f.tenant_id AND m.kind = 'fraud'), '-infinity'::timestamptz)`,
    [minEvents],
  );
  return result.rows.map((row) => row.tenant_id);
}

export interface FraudCounts {
  bucket: Date;
  pattern: string;
  risk_level: RiskLevel;
  count: number;
}

export async function countsOverTime(tx: Tx, tenantId: string, from: Date, to: Date, bucket: 'hour' | 'day'): Promise<FraudCounts[]> {
  const result = await tx.query<{ bucket: Date; pattern: string; risk_level: RiskLevel; count: string }>(
    `SELECT date_trunc($4, "timestamp") AS bucket, pattern, risk_level, count(*) AS count FROM fraud_events
     WHERE tenant_id = $1 AND "timestamp" >= $2 AND "timestamp" < $3 GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    [tenantId, from, to, bucket],
  );
  return result.rows.map((row) => ({ ...row, count: Number(row.count) }));
}

export async function investigationCounts(tx: Tx, tenantId: string, from: Date, to: Date): Promise<{ investigated: number; confirmed: number; false_positive: number; open: number }> {
  const result = await tx.query<{ investigated: string; confirmed: string; false_positive: string; open: string }>(
    `SELECT count(*) FILTER (WHERE investigated) AS investigated, count(*) FILTER (WHERE investigation_outcome = 'confirmed') AS confirmed,
            count(*) FILTER (WHERE investigation_outcome = 'false_positive') AS false_positive, count(*) FILTER (WHERE NOT investigated) AS open
     FROM fraud_events WHERE tenant_id = $1 AND "timestamp" >= $2 AND "timestamp" < $3`,
    [tenantId, from, to],
  );
  const row = result.rows[0];
  return { investigated: Number(row?.investigated ?? 0), confirmed: Number(row?.confirmed ?? 0), false_positive: Number(row?.false_positive ?? 0), open: Number(row?.open ?? 0) };
}
