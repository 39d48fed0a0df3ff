import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import type { Db, Tx } from '../platform/db/index.js';
import type { UnitFailed } from '../platform/scheduler.js';
import type { AlertRow } from './alert-store.js';
import type { ChannelName } from './channels.js';
import { canonicalLabels } from './fingerprint.js';
import { deleteGroupState, firingAlerts, groupStates, latestByFingerprint, saveGroupState, tenantsToDispatch, type FiringAlert, type GroupState } from './groups.repository.js';
import { warnRefusedOnce } from './matchers.js';
import { computeMutes, effectiveLabels } from './mute.js';
import { enqueueNotification, type Channels } from './notify/enqueue.js';
import { commonOf, highestSeverity, type NotificationPayload, type NotifiedAlert } from './notify/payload.js';
import { loadPolicy, type Policy } from './policy.js';
import { activeSilences } from './silences.repository.js';

/** Which group an alert belongs to: its receiver (channel set) and its group_by labels. */
export function groupOf(alert: Pick<AlertRow, 'name' | 'severity' | 'service_name' | 'labels'>, ruleChannels: ChannelName[] | null, policy: Policy) {
  const channels = [...(ruleChannels ?? policy.channels)].sort();
  const labels = effectiveLabels(alert);
  const groupLabels = Object.fromEntries(policy.group_by.filter((name) => labels[name] !== undefined).map((name) => [name, labels[name] ?? '']));
  return { key: `${channels.join(',')}:${canonicalLabels(groupLabels)}`, channels, groupLabels };
}

export function notifiedAlert(alert: AlertRow, status: 'firing' | 'resolved'): NotifiedAlert {
  return {
    id: alert.id, fingerprint: alert.fingerprint, name: alert.name, status, severity: alert.severity, message: alert.message, service_name: alert.service_name,
    labels: effectiveLabels(alert), annotations: alert.annotations, value: alert.value, starts_at: (alert.fired_at ?? alert.starts_at).toISOString(),
    ends_at: status === 'resolved' && alert.resolved_at !== null ? alert.resolved_at.toISOString() : null, acknowledged_by: alert.acknowledged_by,
  };
}

type Reason = 'first notification' | 'new alerts' | 'resolved' | 'repeat';

/** Alertmanager's dedup stage (notify/dedup_stage.go needsUpdate) against this group's log. */
function needsUpdate(state: GroupState, firing: readonly string[], resolved: readonly string[], policy: Policy, now: Date): Reason | null {
  if (state.last_notified_at === null) return firing.length > 0 ? 'first notification' : null;
  const notified = new Set(state.notified_firing);
  if (firing.some((fingerprint) => !notified.has(fingerprint))) return 'new alerts';
  if (resolved.length > 0 && (policy.send_resolved || firing.length === 0)) return 'resolved';
  if (firing.length > 0 && now.getTime() - state.last_notified_at.getTime() >= policy.repeat_interval_seconds * 1000) return 'repeat';
  return null;
}

/**
 * Grouping: alerts with the same receiver and group_by labels form one group. A new group waits
 * group_wait, then is re-examined every group_interval; it is notified only when the dedup rules
 * say so, so a storm of alerts from one cause is one notification. Silenced and inhibited
 * alerts stay firing but are left out of notifications.
 */
export function createDispatcher(deps: { db: Db; clock: Clock; logger: Logger; channels: Channels }) {
  const flush = async (tx: Tx, tenantId: string, now: Date, policy: Policy, state: GroupState, firing: FiringAlert[], latest: Map<string, AlertRow>): Promise<number> => {
    const firingFingerprints = firing.map((alert) => alert.fingerprint);
    const firingSet = new Set(firingFingerprints);
    const resolved = state.notified_firing.filter((fingerprint) => !firingSet.has(fingerprint) && latest.get(fingerprint)?.resolved === true);
    const reason = needsUpdate(state, firingFingerprints, resolved, policy, now);
    let enqueued = 0;
    if (reason !== null) {
      const resolvedRows = resolved.flatMap((fingerprint) => {
        const row = latest.get(fingerprint);
        return row === undefined ? [] : [row];
      });
      const includedResolved = policy.send_resolved || firing.length === 0 ? resolvedRows : [];
      const alerts = [...firing.map((alert) => notifiedAlert(alert, 'firing')), ...includedResolved.map((alert) => notifiedAlert(alert, 'resolved'))];
      const payload: NotificationPayload = {
        kind: 'group', status: firing.length > 0 ? 'firing' : 'resolved', severity: highestSeverity(alerts), reason, group_key: state.group_key,
        group_labels: state.group_labels, common_labels: commonOf(alerts.map((alert) => alert.labels)), common_annotations: commonOf(alerts.map((alert) => alert.annotations)), alerts,
      };
      const notified = new Set(state.notified_firing);
      const pagerDuty = alerts.flatMap((alert, index): Array<{ action: 'trigger' | 'resolve'; alertIndex: number }> => {
        if (alert.status === 'resolved') return [{ action: 'resolve', alertIndex: index }];
        return notified.has(alert.fingerprint) ? [] : [{ action: 'trigger', alertIndex: index }];
      });
      enqueued = (await enqueueNotification(tx, tenantId, now, deps.channels, { channels: state.channels, payload, alertId: alerts.length === 1 ? (alerts[0]?.id ?? null) : null, pagerDuty })).length;
      state.notified_firing = firingFingerprints;
      state.last_notified_at = now;
    } else {
      const resolvedSet = new Set(resolved);
      state.notified_firing = state.notified_firing.filter((fingerprint) => !resolvedSet.has(fingerprint));
    }
    state.next_flush_at = new Date(now.getTime() + policy.group_interval_seconds * 1000);
    if (firing.length === 0 && state.notified_firing.length === 0) await deleteGroupState(tx, tenantId, state.group_key);
    else await saveGroupState(tx, tenantId, state);
    return enqueued;
  };

  const dispatchIn = async (tx: Tx, tenantId: string, now: Date): Promise<number> => {
    const { policy } = await loadPolicy(tx, tenantId);
    const firing = await firingAlerts(tx, tenantId);
    const mutes = computeMutes(firing, await activeSilences(tx, tenantId, now), policy.inhibit_rules, (owner) => warnRefusedOnce(deps.logger, { tenantId, ...owner }));
    const states = new Map((await groupStates(tx, tenantId)).map((state) => [state.group_key, state]));
    const byGroup = new Map<string, { channels: ChannelName[]; groupLabels: Record<string, string>; alerts: FiringAlert[] }>();
    for (const alert of firing) {
      if (mutes.has(alert.fingerprint)) continue;
      const group = groupOf(alert, alert.rule_channels, policy);
      const entry = byGroup.get(group.key);
      if (entry === undefined) byGroup.set(group.key, { channels: group.channels, groupLabels: group.groupLabels, alerts: [alert] });
      else entry.alerts.push(alert);
    }
    const firingSet = new Set(firing.map((alert) => alert.fingerprint));
    const gone = [...states.values()].flatMap((state) => state.notified_firing.filter((fingerprint) => !firingSet.has(fingerprint)));
    const latest = await latestByFingerprint(tx, tenantId, [...new Set(gone)]);

    let enqueued = 0;
    for (const key of new Set([...byGroup.keys(), ...states.keys()])) {
      const group = byGroup.get(key);
      let state = states.get(key);
      if (state === undefined) {
        if (group === undefined) continue;
        // group_wait counts from the group's first alert, so a restart or a slow tick does not stretch it.
        const firstFired = Math.min(...group.alerts.map((alert) => (alert.fired_at ?? alert.starts_at).getTime()));
        state = { group_key: key, channels: group.channels, group_labels: group.groupLabels, created_at: now, next_flush_at: new Date(firstFired + policy.group_wait_seconds * 1000), last_notified_at: null, notified_firing: [] };
        if (state.next_flush_at.getTime() > now.getTime()) {
          await saveGroupState(tx, tenantId, state);
          continue;
        }
      }
      if (state.next_flush_at.getTime() > now.getTime()) continue;
      enqueued += await flush(tx, tenantId, now, policy, state, group?.alerts ?? [], latest);
    }
    return enqueued;
  };

  return {
    async dispatchTenant(tenantId: string): Promise<number> {
      return deps.db.withTenant(tenantId, (tx) => dispatchIn(tx, tenantId, deps.clock.now()));
    },
    async dispatchAll(onUnitFailure?: UnitFailed): Promise<number> {
      const tenants = await deps.db.asSystem((tx) => tenantsToDispatch(tx));
      let enqueued = 0;
      for (const tenantId of tenants) {
        try {
          enqueued += await deps.db.withTenant(tenantId, (tx) => dispatchIn(tx, tenantId, deps.clock.now()));
        } catch (error) {
          deps.logger.error({ err: error, tenantId }, 'notification dispatch failed for tenant');
          onUnitFailure?.({ tenantId }, error);
        }
      }
      return enqueued;
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
