import type { AlertRow } from './alert-store.js';
import type { RefusedMatcher } from '../platform/matchers/index.js';
import { compileStoredMatchers, type LabelPredicate, type Matcher } from './matchers.js';
import type { InhibitRule } from './policy.js';
import type { SilenceRow } from './silences.repository.js';

/** The label set notifications, silences, inhibition and grouping see. */
export function effectiveLabels(alert: Pick<AlertRow, 'name' | 'severity' | 'service_name' | 'labels'>): Record<string, string> {
  return { alertname: alert.name, severity: alert.severity, ...(alert.service_name === null ? {} : { service: alert.service_name }), ...alert.labels };
}

export interface MuteState {
  silencedBy: string[];
  inhibitedBy: string[];
}

/**
 * Silences (all matchers of an active silence) and inhibition (a firing source alert with equal
 * `equal` labels) mute notifications, never the alert itself. An alert matching both sides of
 * a rule is not inhibited by alerts that also match both sides (Alertmanager's rule). A stored
 * silence or inhibit rule with a pattern RE2 refuses (saved before RE2) matches nothing and is
 * reported to `onRefused`.
 */
export function computeMutes(
  firing: ReadonlyArray<Pick<AlertRow, 'id' | 'fingerprint' | 'name' | 'severity' | 'service_name' | 'labels'>>,
  silences: readonly SilenceRow[],
  inhibitRules: readonly InhibitRule[],
  onRefused: (owner: Record<string, string>) => (refused: RefusedMatcher) => void = () => () => undefined,
): Map<string, MuteState> {
  const compile = (matchers: readonly Matcher[], owner: Record<string, string>): LabelPredicate => compileStoredMatchers(matchers, onRefused(owner)).matches;
  const silencePredicates = silences.map((silence) => ({ id: silence.id, matches: compile(silence.matchers, { silenceId: silence.id }) }));
  const rules = inhibitRules.map((rule, index) => ({
    source: compile(rule.source_matchers, { inhibitRule: `${index}.source_matchers` }),
    target: compile(rule.target_matchers, { inhibitRule: `${index}.target_matchers` }),
    equal: rule.equal,
  }));
  const labelled = firing.map((alert) => ({ alert, labels: effectiveLabels(alert) }));
  const result = new Map<string, MuteState>();
  for (const { alert, labels } of labelled) {
    const silencedBy = silencePredicates.filter((silence) => silence.matches(labels)).map((silence) => silence.id);
    const inhibitedBy: string[] = [];
    for (const rule of rules) {
      if (!rule.target(labels)) continue;
      const targetIsSource = rule.source(labels);
      for (const source of labelled) {
        if (source.alert.id === alert.id || !rule.source(source.labels)) continue;
        if (targetIsSource && rule.target(source.labels)) continue;
        if (rule.equal.every((name) => (source.labels[name] ?? '') === (labels[name] ?? ''))) inhibitedBy.push(source.alert.fingerprint);
      }
    }
    if (silencedBy.length > 0 || inhibitedBy.length > 0) result.set(alert.fingerprint, { silencedBy, inhibitedBy: [...new Set(inhibitedBy)] });
  }
  return result;
}
