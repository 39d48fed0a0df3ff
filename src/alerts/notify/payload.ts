import type { Severity } from '../alert-store.js';

export interface NotifiedAlert {
  id: string;
  fingerprint: string;
  name: string;
  status: 'firing' | 'resolved';
  severity: Severity;
  message: string;
  service_name: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  value: number | null;
  starts_at: string;
  ends_at: string | null;
  acknowledged_by: string | null;
}

/** The snapshot stored in the outbox: what was sent is exactly what the row says. */
export interface NotificationPayload {
  kind: 'group' | 'escalation' | 'acknowledgement';
  status: 'firing' | 'resolved';
  severity: Severity;
  reason: string;
  group_key: string;
  group_labels: Record<string, string>;
  common_labels: Record<string, string>;
  common_annotations: Record<string, string>;
  alerts: NotifiedAlert[];
  level?: number;
  actor?: string;
  pagerduty?: { event_action: 'trigger' | 'acknowledge' | 'resolve'; dedup_key: string };
}

const RANK: Record<Severity, number> = { info: 0, warning: 1, error: 2, critical: 3 };

export function highestSeverity(alerts: ReadonlyArray<{ severity: Severity }>): Severity {
  return alerts.reduce<Severity>((best, alert) => (RANK[alert.severity] > RANK[best] ? alert.severity : best), 'info');
}

/** Labels (or annotations) shared by every alert with the same value. */
export function commonOf(sets: ReadonlyArray<Record<string, string>>): Record<string, string> {
  const [first, ...rest] = sets;
  if (first === undefined) return {};
  return Object.fromEntries(Object.entries(first).filter(([key, value]) => rest.every((set) => set[key] === value)));
}

export function titleOf(payload: NotificationPayload): string {
  const firing = payload.alerts.filter((alert) => alert.status === 'firing').length;
  const groupText = Object.entries(payload.group_labels).map(([key, value]) => `${key}=${value}`).join(' ');
  const severity = `[${payload.severity.toUpperCase()}]`;
  if (payload.kind === 'escalation') return `${severity} ESCALATION level ${payload.level ?? 1}: ${payload.alerts[0]?.name ?? 'alert'} ${groupText}`.trim();
  if (payload.kind === 'acknowledgement') return `${severity} ACKNOWLEDGED by ${payload.actor ?? 'unknown'}: ${payload.alerts[0]?.name ?? 'alert'}`;
  const state = payload.status === 'firing' ? `FIRING:${firing}` : 'RESOLVED';
  return `[${state}] ${severity} ${groupText}`.trim();
}

export function alertLine(alert: NotifiedAlert): string {
  const summary = alert.annotations['summary'];
  return `[${alert.status.toUpperCase()}] [${alert.severity.toUpperCase()}] ${alert.name}: ${alert.message}${summary === undefined ? '' : ` (${summary})`}`;
}

export function textOf(payload: NotificationPayload, externalUrl: string, tenantId: string): string {
  const lines = [titleOf(payload), `Tenant: ${tenantId}`, `Reason: ${payload.reason}`, ''];
  for (const alert of payload.alerts) {
    lines.push(alertLine(alert));
    lines.push(`  labels: ${Object.entries(alert.labels).map(([key, value]) => `${key}=${value}`).join(', ')}`);
    lines.push(`  started: ${alert.starts_at}${alert.ends_at === null ? '' : `, ended: ${alert.ends_at}`}`);
    const runbook = alert.annotations['runbook_url'];
    if (runbook !== undefined) lines.push(`  runbook: ${runbook}`);
    lines.push(`  ${externalUrl}/api/v1/monitoring/alerts/${alert.id}`);
  }
  return lines.join('\n');
}
