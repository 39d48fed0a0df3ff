import type { SampleSource } from '../metrics/index.js';
import type { Logger } from 'pino';
import type { Clock } from '../platform/clock.js';
import type { Db, Tx } from '../platform/db/index.js';
import type { UnitFailed } from '../platform/scheduler.js';
import type { AlertChange, AlertInput, AlertStore } from './alert-store.js';
import { listRules, type RuleRow } from './alert-rules.repository.js';
import type { Condition } from './alert-rules.schema.js';
import {
  lastResolutions, markKeepFiring, openRuleAlerts, readRuleWindows, refreshAlerts, tenantsToEvaluate, windowKey, type OpenRuleAlert, type SeriesWindow,
} from './evaluation.repository.js';
import { fingerprintOf } from './fingerprint.js';
import { compileStoredMatchers, warnRefusedOnce } from './matchers.js';

/** One series of one rule at this evaluation: its alert identity and whether the condition holds. */
interface Candidate {
  rule: RuleRow;
  fingerprint: string;
  active: boolean;
  input: AlertInput;
}

export function aggregate(rule: Pick<RuleRow, 'aggregation'>, window: SeriesWindow): number | null {
  switch (rule.aggregation) {
    case 'avg': return window.avg;
    case 'min': return window.min;
    case 'max': return window.max;
    case 'sum': return window.sum;
    case 'last': return window.last;
    case 'count': return window.n;
    case 'rate':
      // Per second over the samples in the window; a drop is read as a counter reset.
      if (window.n < 2 || window.span_seconds <= 0) return null;
      return (window.last >= window.first ? window.last - window.first : window.last) / window.span_seconds;
  }
}

export function holds(condition: Condition, value: number, threshold: number): boolean {
  switch (condition) {
    case '>': return value > threshold;
    case '>=': return value >= threshold;
    case '<': return value < threshold;
    case '<=': return value <= threshold;
    case '==': return value === threshold;
    case '!=': return value !== threshold;
  }
}

const format = (value: number) => (Number.isInteger(value) ? String(value) : value.toFixed(3));

/** Candidates for the state machine: series where the condition holds, or that have an open alert. */
function candidatesOf(rule: RuleRow, windows: readonly SeriesWindow[], isOpen: (fingerprint: string) => boolean, logger: Pick<Logger, 'warn'>, tenantId: string): Candidate[] {
  const { matches, refused } = compileStoredMatchers(rule.label_matchers, warnRefusedOnce(logger, { tenantId, ruleId: rule.id }));
  // A stored pattern RE2 refuses (saved before RE2) matches no series, and is no "no data" either.
  if (refused) return [];
  const candidates: Candidate[] = [];
  let withData = 0;
  for (const window of windows) {
    const seriesLabels = { ...window.labels, service: window.service_name };
    if (!matches(seriesLabels)) continue;
    const value = aggregate(rule, window);
    if (value === null) continue;
    withData += 1;
    const fingerprint = fingerprintOf(rule.id, seriesLabels);
    const active = holds(rule.condition, value, rule.threshold);
    // Most series are quiet: nothing to build for them.
    if (!active && !isOpen(fingerprint)) continue;
    const labels = { ...seriesLabels, ...rule.labels, alertname: rule.rule_name, severity: rule.severity };
    candidates.push({
      rule,
      fingerprint,
      active,
      input: {
        fingerprint, name: rule.rule_name, type: 'threshold', severity: rule.severity, source: 'rule', ruleId: rule.id,
        serviceName: window.service_name, labels, annotations: rule.annotations, value,
        message: `${rule.aggregation}(${rule.metric_name}) over ${rule.window_seconds}s on ${window.service_name} is ${format(value)} (${rule.condition} ${format(rule.threshold)})`,
      },
    });
  }
  if (withData === 0 && rule.no_data_state === 'alerting') {
    // No data is its own alert, never read as a zero.
    const identity = { alertstate: 'nodata' };
    candidates.push({
      rule,
      fingerprint: fingerprintOf(rule.id, identity),
      active: true,
      input: {
        fingerprint: fingerprintOf(rule.id, identity), name: rule.rule_name, type: 'no_data', severity: rule.severity, source: 'rule', ruleId: rule.id,
        serviceName: rule.service_name ?? undefined,
        labels: { ...rule.labels, alertname: rule.rule_name, severity: rule.severity, alertstate: 'nodata', ...(rule.service_name === null ? {} : { service: rule.service_name }) },
        annotations: rule.annotations,
        message: `No data: no samples of ${rule.metric_name}${rule.service_name === null ? '' : ` from ${rule.service_name}`} in the last ${rule.window_seconds}s`,
      },
    });
  }
  return candidates;
}

export interface EvaluationResult {
  rules: number;
  changes: AlertChange[];
}

/**
 * Prometheus' rule state machine per rule and series: inactive -> pending (`duration`) -> firing
 * -> resolved, with `keep_firing_for`. One transaction per tenant; transitions go through the
 * alert store (history, one open alert per fingerprint), steady state is one bulk update.
 */
export function createEvaluator(deps: { db: Db; clock: Clock; logger: Logger; alerts: AlertStore; samples: SampleSource }) {
  const evaluateIn = async (tx: Tx, tenantId: string, now: Date): Promise<EvaluationResult> => {
    const rules = await listRules(tx, tenantId, { enabled: true });
    const open = await openRuleAlerts(tx, tenantId);
    const longest = rules.reduce((max, rule) => Math.max(max, rule.window_seconds), 0);
    const windows = rules.length === 0 ? [] : await readRuleWindows(tx, tenantId, now, longest, deps.samples, [...new Set(rules.map((rule) => rule.metric_name))]);
    const byWindow = new Map<string, SeriesWindow[]>();
    for (const window of windows) {
      const key = windowKey(window.metric_name, window.service_filter, window.window_seconds);
      const list = byWindow.get(key);
      if (list === undefined) byWindow.set(key, [window]);
      else list.push(window);
    }
    const openByFingerprint = new Map(open.map((alert) => [alert.fingerprint, alert]));
    const isOpen = (fingerprint: string) => openByFingerprint.has(fingerprint);
    const candidates = rules.flatMap((rule) => candidatesOf(rule, byWindow.get(windowKey(rule.metric_name, rule.service_name, rule.window_seconds)) ?? [], isOpen, deps.logger, tenantId));
    const rulesById = new Map(rules.map((rule) => [rule.id, rule]));

    const raises: AlertInput[] = [];
    const refresh: Array<{ id: string; value: number | null }> = [];
    const keep: string[] = [];
    const resolves: Array<{ alert: OpenRuleAlert; reason: string }> = [];
    const fresh: Candidate[] = [];
    const seen = new Set<string>();

    const inactive = (alert: OpenRuleAlert, rule: RuleRow | undefined, reason: string) => {
      if (rule === undefined) return resolves.push({ alert, reason: 'rule disabled or deleted' });
      if (alert.status === 'pending') return resolves.push({ alert, reason: `${reason} before firing` });
      if (rule.keep_firing_for > 0) {
        if (alert.keep_firing_since === null) return keep.push(alert.id);
        if (now.getTime() - alert.keep_firing_since.getTime() < rule.keep_firing_for * 1000) return;
        return resolves.push({ alert, reason: `${reason} for keep_firing_for (${rule.keep_firing_for}s)` });
      }
      return resolves.push({ alert, reason });
    };

    for (const candidate of candidates) {
      seen.add(candidate.fingerprint);
      const existing = openByFingerprint.get(candidate.fingerprint);
      const value = candidate.input.value ?? null;
      if (!candidate.active) {
        if (existing !== undefined) inactive(existing, candidate.rule, 'condition cleared');
        continue;
      }
      if (existing === undefined) fresh.push(candidate);
      else if (existing.status === 'pending' && now.getTime() - existing.starts_at.getTime() >= candidate.rule.duration * 1000) raises.push({ ...candidate.input, status: 'firing' });
      // Unchanged alerts are not rewritten: a steady cycle writes only what moved.
      else if (existing.value !== value || existing.keep_firing_since !== null) refresh.push({ id: existing.id, value });
    }
    for (const alert of open) {
      if (!seen.has(alert.fingerprint)) inactive(alert, rulesById.get(alert.rule_id), 'series absent from the window');
    }

    const cooling = fresh.filter((candidate) => candidate.rule.cooldown_seconds > 0).map((candidate) => candidate.fingerprint);
    const resolvedAt = await lastResolutions(tx, tenantId, cooling);
    const opening: AlertInput[] = [];
    for (const candidate of fresh) {
      const last = resolvedAt.get(candidate.fingerprint);
      if (last !== undefined && now.getTime() - last.getTime() < candidate.rule.cooldown_seconds * 1000) continue;
      opening.push({ ...candidate.input, status: candidate.rule.duration > 0 ? 'pending' : 'firing' });
    }

    const changes: AlertChange[] = await deps.alerts.openManyIn(tx, tenantId, opening);
    for (const input of raises) {
      const change = await deps.alerts.raiseIn(tx, tenantId, input);
      if (change !== null) changes.push(change);
    }
    await refreshAlerts(tx, tenantId, now, refresh);
    await markKeepFiring(tx, tenantId, now, keep);
    for (const { alert, reason } of resolves) {
      const change = await deps.alerts.resolveIn(tx, tenantId, { id: alert.id }, 'evaluator', { reason });
      if (change !== null) changes.push(change);
    }
    return { rules: rules.length, changes };
  };

  const evaluateTenant = async (tenantId: string): Promise<EvaluationResult> => {
    const result = await deps.db.withTenant(tenantId, (tx) => evaluateIn(tx, tenantId, deps.clock.now()));
    await deps.alerts.announce(result.changes);
    return result;
  };

  return {
    evaluateTenant,
    /** One cycle over every tenant with rules or open rule alerts; a tenant that fails is logged, reported and skipped. */
    async evaluateAll(onUnitFailure?: UnitFailed): Promise<{ tenants: number; rules: number; changes: number }> {
      const tenants = await deps.db.asSystem((tx) => tenantsToEvaluate(tx));
      const totals = { tenants: tenants.length, rules: 0, changes: 0 };
      for (const tenantId of tenants) {
        try {
          const result = await evaluateTenant(tenantId);
          totals.rules += result.rules;
          totals.changes += result.changes.length;
        } catch (error) {
          deps.logger.error({ err: error, tenantId }, 'alert evaluation failed for tenant');
          onUnitFailure?.({ tenantId }, error);
        }
      }
      return totals;
    },
  };
}

export type Evaluator = ReturnType<typeof createEvaluator>;
