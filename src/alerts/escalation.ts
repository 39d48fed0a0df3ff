import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import type { Db, Tx } from '../platform/db/index.js';
import type { UnitFailed } from '../platform/scheduler.js';
import { ALERT_COLUMNS, recordAlertEvents, type AlertChange, type AlertRow } from './alert-store.js';
import type { ChannelName } from './channels.js';
import { groupOf, notifiedAlert } from './dispatch.js';
import { warnRefusedOnce } from './matchers.js';
import { computeMutes } from './mute.js';
import { enqueueNotification, type Channels } from './notify/enqueue.js';
import { loadPolicy, type EscalationChain, type Policy } from './policy.js';
import { activeSilences } from './silences.repository.js';

interface EscalationRow {
  alert_id: string;
  severity: AlertRow['severity'];
  step_index: number;
  cycle: number;
  level: number;
  next_at: Date;
  status: 'active' | 'stopped' | 'completed';
}

const chainOf = (policy: Policy, severity: AlertRow['severity']): EscalationChain | undefined => policy.escalation[severity];

/**
 * Escalation chains per severity (ordered steps: wait, notify channels; the chain may repeat up
 * to N times). Started when an alert fires, stopped by acknowledgement or resolution; every step
 * and the stop are written to the alert's history.
 */
export function createEscalation(deps: { db: Db; clock: Clock; logger: Logger; channels: Channels }) {
  const start = async (tx: Tx, tenantId: string, policy: Policy, alerts: ReadonlyArray<Pick<AlertRow, 'id' | 'severity' | 'fired_at' | 'starts_at'>>, now: Date): Promise<void> => {
    const startable = alerts.flatMap((alert) => {
      const first = chainOf(policy, alert.severity)?.steps[0];
      return first === undefined ? [] : [{ alert, nextAt: new Date((alert.fired_at ?? alert.starts_at).getTime() + first.wait_seconds * 1000) }];
    });
    if (startable.length === 0) return;
    await tx.query(
      `INSERT INTO alert_escalations (alert_id, tenant_id, severity, next_at, status, started_at, updated_at)
       SELECT s.alert_id, $1, s.severity, s.next_at, 'active', $2, $2 FROM unnest($3::uuid[], $4::text[], $5::timestamptz[]) AS s(alert_id, severity, next_at)
       ON CONFLICT (alert_id) DO NOTHING`,
      [tenantId, now, startable.map((s) => s.alert.id), startable.map((s) => s.alert.severity), startable.map((s) => s.nextAt)],
    );
  };

  const stopIn = async (tx: Tx, tenantId: string, now: Date, alertId?: string): Promise<number> => {
    const stopped = await tx.query<{ alert_id: string; reason: string; level: number }>(
      `UPDATE alert_escalations e SET status = 'stopped', stop_reason = CASE WHEN a.resolved THEN 'resolved' ELSE 'acknowledged' END, updated_at = $2
       FROM alerts a WHERE e.tenant_id = $1 AND a.tenant_id = $1 AND a.id = e.alert_id AND e.status = 'active' AND (a.resolved OR a.acknowledged_at IS NOT NULL)
         AND ($3::uuid IS NULL OR e.alert_id = $3)
       RETURNING e.alert_id, e.stop_reason AS reason, e.level`,
      [tenantId, now, alertId ?? null],
    );
    await recordAlertEvents(tx, tenantId, stopped.rows.map((row) => ({ alertId: row.alert_id, kind: 'escalation_stopped', actor: 'escalation', details: { reason: row.reason, last_level: row.level }, at: now })));
    return stopped.rowCount;
  };

  const runDue = async (tx: Tx, tenantId: string, policy: Policy, now: Date): Promise<number> => {
    const due = await tx.query<EscalationRow>(
      `SELECT e.alert_id, e.severity, e.step_index, e.cycle, e.level, e.next_at, e.status
       FROM alert_escalations e JOIN alerts a ON a.tenant_id = $1 AND a.id = e.alert_id
       WHERE e.tenant_id = $1 AND e.status = 'active' AND e.next_at <= $2 AND a.resolved = false AND a.acknowledged_at IS NULL
       ORDER BY e.next_at`,
      [tenantId, now],
    );
    if (due.rowCount === 0) return 0;
    const ids = due.rows.map((row) => row.alert_id);
    const alerts = new Map((await tx.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE tenant_id = $1 AND id = ANY($2::uuid[])`, [tenantId, ids])).rows.map((row) => [row.id, row]));
    const firing = (await tx.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE tenant_id = $1 AND resolved = false AND status = 'firing'`, [tenantId])).rows;
    const mutes = computeMutes(firing, await activeSilences(tx, tenantId, now), policy.inhibit_rules, (owner) => warnRefusedOnce(deps.logger, { tenantId, ...owner }));
    let steps = 0;
    for (const row of due.rows) {
      const alert = alerts.get(row.alert_id);
      const chain = chainOf(policy, row.severity);
      if (alert === undefined) continue;
      if (chain === undefined || chain.steps.length === 0) {
        await tx.query(`UPDATE alert_escalations SET status = 'completed', stop_reason = 'no escalation chain for this severity', updated_at = $3 WHERE tenant_id = $1 AND alert_id = $2`, [tenantId, row.alert_id, now]);
        continue;
      }
      const ruleChannels = alert.rule_id === null ? null : (await tx.query<{ channels: ChannelName[] | null }>('SELECT channels FROM alert_rules WHERE tenant_id = $1 AND id = $2', [tenantId, alert.rule_id])).rows[0]?.channels ?? null;
      const group = groupOf(alert, ruleChannels, policy);
      const state = { ...row };
      // Catch up every step that fell due (the job may have been down); each is recorded.
      while (state.status === 'active' && state.next_at.getTime() <= now.getTime()) {
        const step = chain.steps[state.step_index];
        if (step === undefined) break;
        const level = state.step_index + 1;
        const muted = mutes.get(alert.fingerprint);
        if (muted === undefined) {
          const payload = {
            kind: 'escalation' as const, status: 'firing' as const, severity: alert.severity, reason: `not acknowledged: escalation level ${level}`, level,
            group_key: group.key, group_labels: group.groupLabels, common_labels: {}, common_annotations: alert.annotations, alerts: [notifiedAlert(alert, 'firing')],
          };
          const ids = await enqueueNotification(tx, tenantId, now, deps.channels, { channels: step.channels, payload, alertId: alert.id, pagerDuty: [{ action: 'trigger', alertIndex: 0 }] });
          await recordAlertEvents(tx, tenantId, [{ alertId: alert.id, kind: 'escalated', actor: 'escalation', details: { level, cycle: state.cycle, channels: step.channels, notifications: ids, due_at: state.next_at.toISOString() }, at: now }]);
        } else {
          await recordAlertEvents(tx, tenantId, [{ alertId: alert.id, kind: 'escalation_muted', actor: 'escalation', details: { level, cycle: state.cycle, silenced_by: muted.silencedBy, inhibited_by: muted.inhibitedBy }, at: now }]);
        }
        steps += 1;
        state.level = level;
        let nextIndex = state.step_index + 1;
        if (nextIndex >= chain.steps.length) {
          if (state.cycle >= chain.repeat) {
            state.status = 'completed';
            break;
          }
          state.cycle += 1;
          nextIndex = 0;
        }
        state.step_index = nextIndex;
        state.next_at = new Date(state.next_at.getTime() + (chain.steps[nextIndex]?.wait_seconds ?? 0) * 1000);
      }
      await tx.query(
        `UPDATE alert_escalations SET step_index = $3, cycle = $4, level = $5, next_at = $6, status = $7, stop_reason = CASE WHEN $7 = 'completed' THEN 'chain completed' ELSE stop_reason END, updated_at = $8
         WHERE tenant_id = $1 AND alert_id = $2`,
        [tenantId, row.alert_id, state.step_index, state.cycle, state.level, state.next_at, state.status, now],
      );
    }
    return steps;
  };

  const escalateIn = async (tx: Tx, tenantId: string, now: Date): Promise<{ steps: number; stopped: number }> => {
    const { policy } = await loadPolicy(tx, tenantId);
    const unstarted = await tx.query<AlertRow>(
      `SELECT ${ALERT_COLUMNS} FROM alerts a WHERE a.tenant_id = $1 AND a.resolved = false AND a.status = 'firing' AND a.acknowledged_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM alert_escalations e WHERE e.tenant_id = $1 AND e.alert_id = a.id)`,
      [tenantId],
    );
    await start(tx, tenantId, policy, unstarted.rows, now);
    const stopped = await stopIn(tx, tenantId, now);
    const steps = await runDue(tx, tenantId, policy, now);
    return { steps, stopped };
  };

  return {
    escalateTenant: (tenantId: string) => deps.db.withTenant(tenantId, (tx) => escalateIn(tx, tenantId, deps.clock.now())),
    async escalateAll(onUnitFailure?: UnitFailed): Promise<{ steps: number; stopped: number }> {
      const tenants = await deps.db.asSystem((tx) =>
        tx.query<{ tenant_id: string }>(`SELECT tenant_id FROM alerts WHERE resolved = false AND status = 'firing' UNION SELECT tenant_id FROM alert_escalations WHERE status = 'active'`),
      );
      const totals = { steps: 0, stopped: 0 };
      for (const { tenant_id: tenantId } of tenants.rows) {
        try {
          const result = await deps.db.withTenant(tenantId, (tx) => escalateIn(tx, tenantId, deps.clock.now()));
          totals.steps += result.steps;
          totals.stopped += result.stopped;
        } catch (error) {
          deps.logger.error({ err: error, tenantId }, 'escalation failed for tenant');
          onUnitFailure?.({ tenantId }, error);
        }
      }
      return totals;
    },
    /** Listener on the alert store: every domain's firing alert starts its chain at once; ack/resolve stop it. */
    async onAlertChange(change: AlertChange): Promise<void> {
      const now = deps.clock.now();
      if (change.kind === 'firing') {
        await deps.db.withTenant(change.tenantId, async (tx) => start(tx, change.tenantId, (await loadPolicy(tx, change.tenantId)).policy, [change.alert], now));
      } else if (change.kind === 'acknowledged' || change.kind === 'resolved') {
        await deps.db.withTenant(change.tenantId, (tx) => stopIn(tx, change.tenantId, now, change.alert.id));
      }
    },
  };
}

export type Escalation = ReturnType<typeof createEscalation>;
