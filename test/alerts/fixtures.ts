import type { AlertRow } from '../../src/alerts/alert-store.js';
import type { Rule } from '../../src/alerts/alert-rules.schema.js';
import type { SampleInput } from '../../src/metrics/sample.js';
import type { ManualClock } from '../../src/platform/clock.js';
import { bearer, type TestApp } from '../support/app.js';

export async function adminHeaders(tenantId: string) {
  return { ...(await bearer(tenantId, ['admin'])), 'content-type': 'application/json' };
}

export async function createRule(t: TestApp, tenantId: string, body: Record<string, unknown>): Promise<Rule> {
  const response = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/alerts/rules', headers: await adminHeaders(tenantId), payload: body });
  if (response.statusCode !== 201) throw new Error(`rule creation failed: ${response.statusCode} ${response.body}`);
  return response.json<{ data: Rule }>().data;
}

export async function push(t: TestApp, tenantId: string, samples: SampleInput[]): Promise<void> {
  await t.container.ingest.ingest(tenantId, samples, 'internal');
}

export async function evaluate(t: TestApp, tenantId: string) {
  return t.container.alerting.evaluator.evaluateTenant(tenantId);
}

export async function alertsOf(t: TestApp, tenantId: string, where = 'true'): Promise<Array<AlertRow & { keep_firing_since: Date | null }>> {
  const result = await t.container.db.withTenant(tenantId, (tx) => tx.query<AlertRow & { keep_firing_since: Date | null }>(`SELECT * FROM alerts WHERE tenant_id = $1 AND ${where} ORDER BY created_at, id`, [tenantId]));
  return result.rows;
}

export async function eventsOf(t: TestApp, tenantId: string, alertId: string): Promise<Array<{ kind: string; actor: string | null; details: Record<string, unknown> }>> {
  const result = await t.container.db.withTenant(tenantId, (tx) =>
    tx.query<{ kind: string; actor: string | null; details: Record<string, unknown> }>('SELECT kind, actor, details FROM alert_events WHERE tenant_id = $1 AND alert_id = $2 ORDER BY id', [tenantId, alertId]),
  );
  return result.rows;
}

/** Advances the clock and pushes one sample per series at the new time. */
export async function step(t: TestApp, clock: ManualClock, tenantId: string, ms: number, samples: SampleInput[]): Promise<void> {
  clock.advance(ms);
  if (samples.length > 0) await push(t, tenantId, samples);
}

export async function countRows(t: TestApp, tenantId: string, table: string): Promise<number> {
  const result = await t.container.db.withTenant(tenantId, (tx) => tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [tenantId]));
  return result.rows[0]?.n ?? 0;
}

/** Sets a tenant's receiver of one channel through the API, as its admin would. */
export async function putReceiver(t: TestApp, tenantId: string, channel: string, body: Record<string, unknown>): Promise<void> {
  const response = await t.app.inject({ method: 'PUT', url: `/api/v1/monitoring/alerts/receivers/${channel}`, headers: await adminHeaders(tenantId), payload: body });
  if (response.statusCode !== 200) throw new Error(`receiver ${channel} refused: ${response.statusCode} ${response.body}`);
}
