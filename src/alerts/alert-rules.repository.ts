import type { Tx } from '../platform/db/index.js';
import type { Severity } from './alert-store.js';
import type { Aggregation, Condition, Rule } from './alert-rules.schema.js';
import type { ChannelName } from './channels.js';
import { normaliseMatchers, type Matcher } from './matchers.js';

/** A rule as the evaluator and the API use it (validated values only). */
export interface RuleValues {
  rule_name: string;
  description: string | null;
  metric_name: string;
  service_name: string | null;
  label_matchers: Matcher[];
  aggregation: Aggregation;
  window_seconds: number;
  condition: Condition;
  threshold: number;
  duration: number;
  keep_firing_for: number;
  severity: Severity;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  cooldown_seconds: number;
  no_data_state: 'ok' | 'alerting';
  channels: ChannelName[] | null;
  enabled: boolean;
}

export interface RuleRow extends RuleValues {
  id: string;
  tenant_id: string;
  is_default: boolean;
  created_at: Date;
  updated_at: Date;
}

const RULE_COLUMNS = `id, tenant_id, rule_name, description, metric_name, service_name, label_matchers, aggregation, window_seconds, condition, threshold,
  duration, keep_firing_for, severity, labels, annotations, cooldown_seconds, no_data_state, channels, enabled, is_default, created_at, updated_at`;

const normalise = (row: RuleRow): RuleRow => ({ ...row, label_matchers: normaliseMatchers(row.label_matchers) });

export function toRuleJson(row: RuleRow): Rule {
  const { tenant_id: _tenant, ...rest } = row;
  return { ...rest, created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString() };
}

export async function listRules(tx: Tx, tenantId: string, filter: { enabled?: boolean } = {}): Promise<RuleRow[]> {
  const result = await tx.query<RuleRow>(
    `SELECT ${RULE_COLUMNS} FROM alert_rules WHERE tenant_id = $1 AND ($2::boolean IS NULL OR enabled = $2) ORDER BY rule_name`,
    [tenantId, filter.enabled ?? null],
  );
  return result.rows.map(normalise);
}

export async function getRule(tx: Tx, tenantId: string, id: string): Promise<RuleRow | undefined> {
  const result = await tx.query<RuleRow>(`SELECT ${RULE_COLUMNS} FROM alert_rules WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  const row = result.rows[0];
  return row === undefined ? undefined : normalise(row);
}

const valueParams = (values: RuleValues) => [
  values.rule_name, values.description, values.metric_name, values.service_name, JSON.stringify(values.label_matchers), values.aggregation,
  values.window_seconds, values.condition, values.threshold, values.duration, values.keep_firing_for, values.severity, JSON.stringify(values.labels),
  JSON.stringify(values.annotations), values.cooldown_seconds, values.no_data_state, values.channels === null ? null : JSON.stringify(values.channels), values.enabled,
];

/** Returns undefined when the name is taken (unique per tenant). */
export async function insertRule(tx: Tx, tenantId: string, values: RuleValues, isDefault: boolean, now: Date): Promise<RuleRow | undefined> {
  const result = await tx.query<RuleRow>(
    `INSERT INTO alert_rules (tenant_id, rule_name, description, metric_name, service_name, label_matchers, aggregation, window_seconds, condition, threshold,
       duration, keep_firing_for, severity, labels, annotations, cooldown_seconds, no_data_state, channels, enabled, is_default, created_at, updated_at)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$21)
     ON CONFLICT (tenant_id, rule_name) DO NOTHING RETURNING ${RULE_COLUMNS}`,
    [tenantId, ...valueParams(values), isDefault, now],
  );
  const row = result.rows[0];
  return row === undefined ? undefined : normalise(row);
}

export async function updateRule(tx: Tx, tenantId: string, id: string, values: RuleValues, now: Date): Promise<RuleRow | undefined> {
  const result = await tx.query<RuleRow>(
    `UPDATE alert_rules SET rule_name = $3, description = $4, metric_name = $5, service_name = $6, label_matchers = $7, aggregation = $8, window_seconds = $9,
       condition = $10, threshold = $11, duration = $12, keep_firing_for = $13, severity = $14, labels = $15, annotations = $16, cooldown_seconds = $17,
       no_data_state = $18, channels = $19, enabled = $20, updated_at = $21
     WHERE tenant_id = $1 AND id = $2 RETURNING ${RULE_COLUMNS}`,
    [tenantId, id, ...valueParams(values), now],
  );
  const row = result.rows[0];
  return row === undefined ? undefined : normalise(row);
}

export async function ruleNameTaken(tx: Tx, tenantId: string, name: string, exceptId: string): Promise<boolean> {
  const result = await tx.query('SELECT 1 FROM alert_rules WHERE tenant_id = $1 AND rule_name = $2 AND id <> $3', [tenantId, name, exceptId]);
  return result.rowCount > 0;
}

/** Rules of the tenant, defaults included (LIMIT_RULES). */
export async function countRules(tx: Tx, tenantId: string): Promise<number> {
  const result = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM alert_rules WHERE tenant_id = $1', [tenantId]);
  return result.rows[0]?.n ?? 0;
}

/** Rules of each tenant, for the usage views (system transaction). */
export async function ruleCounts(tx: Tx, tenantIds: readonly string[]): Promise<Map<string, number>> {
  const result = await tx.query<{ tenant_id: string; n: number }>('SELECT tenant_id, count(*)::int AS n FROM alert_rules WHERE tenant_id = ANY($1::uuid[]) GROUP BY tenant_id', [tenantIds]);
  return new Map(result.rows.map((row) => [row.tenant_id, row.n]));
}

export async function deleteRule(tx: Tx, tenantId: string, id: string): Promise<boolean> {
  const result = await tx.query('DELETE FROM alert_rules WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return result.rowCount > 0;
}
