import type { Tx } from '../platform/db/index.js';
import type { RuleValues } from './alert-rules.repository.js';

const base: Pick<RuleValues, 'description' | 'service_name' | 'label_matchers' | 'keep_firing_for' | 'labels' | 'cooldown_seconds' | 'no_data_state' | 'channels' | 'enabled'> = {
  description: null,
  service_name: null,
  label_matchers: [],
  keep_firing_for: 0,
  labels: {},
  cooldown_seconds: 0,
  no_data_state: 'ok',
  channels: null,
  enabled: true,
};

/** The audit's five default rules (src/alerting/default-rules.ts of the original service). */
export const DEFAULT_RULES: readonly RuleValues[] = [
  { ...base, rule_name: 'high_cpu_usage', metric_name: 'system_cpu_usage_percent', aggregation: 'avg', window_seconds: 300, condition: '>', threshold: 80, severity: 'warning', duration: 300,
    annotations: { summary: 'CPU usage above 80% for 5 minutes' } },
  { ...base, rule_name: 'high_memory_usage', metric_name: 'system_memory_usage_percent', aggregation: 'avg', window_seconds: 300, condition: '>', threshold: 90, severity: 'warning', duration: 300,
    annotations: { summary: 'Memory usage above 90% for 5 minutes' } },
  { ...base, rule_name: 'service_down', metric_name: 'service_up', aggregation: 'last', window_seconds: 120, condition: '==', threshold: 0, severity: 'critical', duration: 60,
    annotations: { summary: 'Service is down' } },
  { ...base, rule_name: 'high_response_time', metric_name: 'http_response_time_ms', aggregation: 'avg', window_seconds: 180, condition: '>', threshold: 1000, severity: 'warning', duration: 180,
    annotations: { summary: 'Average response time above 1000 ms for 3 minutes' } },
  { ...base, rule_name: 'database_connection_pool_exhausted', metric_name: 'postgres_pool_waiting', aggregation: 'max', window_seconds: 60, condition: '>', threshold: 5, severity: 'critical', duration: 60,
    annotations: { summary: 'More than 5 clients waiting for a database connection' } },
];

/**
 * Seeds the defaults once per tenant (marker in alert_rule_seeds), so a default an admin
 * deletes stays deleted and a renamed rule is not recreated. Returns true when it seeded.
 */
export async function ensureDefaultRules(tx: Tx, tenantId: string, now: Date): Promise<boolean> {
  const marked = await tx.query('INSERT INTO alert_rule_seeds (tenant_id, seeded_at) VALUES ($1, $2) ON CONFLICT (tenant_id) DO NOTHING RETURNING tenant_id', [tenantId, now]);
  if (marked.rowCount === 0) return false;
  const column = <K extends keyof RuleValues>(key: K) => DEFAULT_RULES.map((rule) => rule[key]);
  await tx.query(
    `INSERT INTO alert_rules (tenant_id, rule_name, metric_name, aggregation, window_seconds, condition, threshold, severity, duration, annotations, is_default, created_at, updated_at)
     SELECT $1, r.rule_name, r.metric_name, r.aggregation, r.window_seconds, r.condition, r.threshold, r.severity, r.duration, r.annotations::jsonb, true, $2, $2
     FROM unnest($3::text[], $4::text[], $5::text[], $6::int[], $7::text[], $8::float8[], $9::text[], $10::int[], $11::text[])
       AS r(rule_name, metric_name, aggregation, window_seconds, condition, threshold, severity, duration, annotations)
     ON CONFLICT (tenant_id, rule_name) DO NOTHING`,
    [tenantId, now, column('rule_name'), column('metric_name'), column('aggregation'), column('window_seconds'), column('condition'), column('threshold'),
      column('severity'), column('duration'), DEFAULT_RULES.map((rule) => JSON.stringify(rule.annotations))],
  );
  return true;
}
