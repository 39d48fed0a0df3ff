import type { Logger } from 'pino';
import { TOPICS, type Bus } from '../platform/bus/index.js';
import type { Clock } from '../platform/clock.js';
import type { Db, Tx } from '../platform/db/index.js';

export const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** What any part of the service raises: threshold rules, no-data, anomalies, fraud, health, patterns. */
export interface AlertInput {
  /** Identity of the alert: one open alert per tenant and fingerprint. */
  fingerprint: string;
  name: string;
  type: string;
  severity: Severity;
  message: string;
  source: string;
  serviceName?: string;
  ruleId?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  value?: number;
  /** 'pending' while a rule's `for` has not elapsed; default 'firing'. */
  status?: 'pending' | 'firing';
}

export interface AlertRow {
  id: string;
  tenant_id: string;
  rule_id: string | null;
  fingerprint: string;
  name: string;
  type: string;
  severity: Severity;
  message: string;
  source: string;
  service_name: string | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  status: 'pending' | 'firing' | 'resolved';
  value: number | null;
  resolved: boolean;
  starts_at: Date;
  fired_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
  resolved_at: Date | null;
  resolved_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export type AlertChangeKind = 'pending' | 'firing' | 'updated' | 'acknowledged' | 'resolved';

export interface AlertChange {
  tenantId: string;
  kind: AlertChangeKind;
  alert: AlertRow;
}

export type AlertListener = (change: AlertChange) => void | Promise<void>;

/** Appends to an alert's history (alert_events) inside the caller's transaction. */
export async function recordAlertEvents(
  tx: Tx,
  tenantId: string,
  events: ReadonlyArray<{ alertId: string; kind: string; actor: string | null; details?: Record<string, unknown>; at: Date }>,
): Promise<void> {
  if (events.length === 0) return;
  await tx.query(
    `INSERT INTO alert_events (tenant_id, alert_id, kind, actor, details, at)
     SELECT $1, e.alert_id, e.kind, e.actor, e.details::jsonb, e.at FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS e(alert_id, kind, actor, details, at)`,
    [tenantId, events.map((e) => e.alertId), events.map((e) => e.kind), events.map((e) => e.actor), events.map((e) => JSON.stringify(e.details ?? {})), events.map((e) => e.at)],
  );
}

export const ALERT_COLUMNS = `id, tenant_id, rule_id, fingerprint, name, type, severity, message, source, service_name, labels, annotations, status, value,
  resolved, starts_at, fired_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, created_at, updated_at`;

/**
 * Writes alert state and announces every change: to in-process listeners (notifications,
 * escalation, WebSocket) after commit, and to `alerts-stream` with acks from all replicas.
 */
export function createAlertStore(deps: { db: Db; bus: Bus; clock: Clock; logger: Logger }) {
  const listeners = new Set<AlertListener>();

  const announce = async (changes: AlertChange[]): Promise<void> => {
    if (changes.length === 0) return;
    for (const change of changes) {
      for (const listener of listeners) {
        Promise.resolve()
          .then(() => listener(change))
          .catch((error: unknown) => deps.logger.error({ err: error }, 'alert listener failed'));
      }
    }
    await deps.bus
      .publish(
        TOPICS.alerts,
        changes.map((change) => ({ key: `${change.tenantId}:${change.alert.fingerprint}`, value: { tenant_id: change.tenantId, kind: change.kind, alert: change.alert } })),
        { acks: 'all' },
      )
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'alerts-stream publish failed'));
  };

  /** Opens or refreshes the open alert of this fingerprint inside the caller's transaction. */
  const raiseIn = async (tx: Tx, tenantId: string, input: AlertInput): Promise<AlertChange | null> => {
    const now = deps.clock.now();
    const status = input.status ?? 'firing';
    const existing = await tx.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE tenant_id = $1 AND fingerprint = $2 AND resolved = false FOR UPDATE`, [tenantId, input.fingerprint]);
    const current = existing.rows[0];
    if (current === undefined) {
      const [opened] = await openManyIn(tx, tenantId, [input]);
      return opened ?? null;
    }
    const promoted = current.status === 'pending' && status === 'firing';
    const updated = await tx.query<AlertRow>(
      `UPDATE alerts SET status = CASE WHEN status = 'firing' THEN 'firing' ELSE $3 END, value = $4, message = $5, severity = $6,
         fired_at = COALESCE(fired_at, CASE WHEN $3 = 'firing' THEN $7::timestamptz END), last_evaluated_at = $7, updated_at = $7,
         keep_firing_since = NULL
       WHERE id = $1 AND tenant_id = $2 RETURNING ${ALERT_COLUMNS}`,
      [current.id, tenantId, status, input.value ?? null, input.message, input.severity, now],
    );
    const row = updated.rows[0];
    if (row === undefined) return null;
    if (!promoted) return null;
    await recordAlertEvents(tx, tenantId, [{ alertId: row.id, kind: 'firing', actor: input.source, details: { value: input.value ?? null, message: input.message }, at: now }]);
    return { tenantId, kind: 'firing', alert: row };
  };

  /**
   * Opens many new alerts in one statement (the evaluator's first cycle after a storm). A
   * fingerprint that is already open is skipped by the unique index: that is the deduplication.
   */
  const openManyIn = async (tx: Tx, tenantId: string, inputs: readonly AlertInput[]): Promise<AlertChange[]> => {
    if (inputs.length === 0) return [];
    const now = deps.clock.now();
    const column = <T>(pick: (input: AlertInput) => T) => inputs.map(pick);
    const inserted = await tx.query<AlertRow>(
      `INSERT INTO alerts (tenant_id, rule_id, fingerprint, name, type, severity, message, source, service_name, labels, annotations, status, value, starts_at, fired_at, last_evaluated_at)
       SELECT $1, i.rule_id, i.fingerprint, i.name, i.type, i.severity, i.message, i.source, i.service_name, i.labels::jsonb, i.annotations::jsonb, i.status, i.value,
         $2, CASE WHEN i.status = 'firing' THEN $2::timestamptz END, $2
       FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::float8[])
         AS i(rule_id, fingerprint, name, type, severity, message, source, service_name, labels, annotations, status, value)
       ON CONFLICT (tenant_id, fingerprint) WHERE resolved = false DO NOTHING
       RETURNING ${ALERT_COLUMNS}`,
      [tenantId, now, column((i) => i.ruleId ?? null), column((i) => i.fingerprint), column((i) => i.name), column((i) => i.type), column((i) => i.severity),
        column((i) => i.message), column((i) => i.source), column((i) => i.serviceName ?? null), column((i) => JSON.stringify(i.labels ?? {})),
        column((i) => JSON.stringify(i.annotations ?? {})), column((i) => i.status ?? 'firing'), column((i) => i.value ?? null)],
    );
    await recordAlertEvents(tx, tenantId, inserted.rows.map((row) => ({ alertId: row.id, kind: row.status, actor: row.source, details: { value: row.value, message: row.message }, at: now })));
    return inserted.rows.map((row) => ({ tenantId, kind: row.status === 'pending' ? 'pending' : 'firing', alert: row }));
  };

  const resolveIn = async (tx: Tx, tenantId: string, where: { fingerprint?: string; id?: string }, by: string, details: Record<string, unknown> = {}): Promise<AlertChange | null> => {
    const now = deps.clock.now();
    const result = await tx.query<AlertRow>(
      `UPDATE alerts SET resolved = true, status = 'resolved', resolved_at = $3, resolved_by = $4, updated_at = $3
       WHERE tenant_id = $1 AND resolved = false AND (fingerprint = $2 OR id::text = $5) RETURNING ${ALERT_COLUMNS}`,
      [tenantId, where.fingerprint ?? null, now, by, where.id ?? null],
    );
    const row = result.rows[0];
    if (row === undefined) return null;
    await recordAlertEvents(tx, tenantId, [{ alertId: row.id, kind: 'resolved', actor: by, details, at: now }]);
    return { tenantId, kind: 'resolved', alert: row };
  };

  /** Records who acknowledged; a second acknowledgement changes nothing (null). */
  const acknowledgeIn = async (tx: Tx, tenantId: string, id: string, by: string, comment?: string): Promise<AlertChange | null> => {
    const now = deps.clock.now();
    const result = await tx.query<AlertRow>(
      `UPDATE alerts SET acknowledged_at = $3, acknowledged_by = $4, updated_at = $3
       WHERE tenant_id = $1 AND id = $2 AND resolved = false AND acknowledged_at IS NULL RETURNING ${ALERT_COLUMNS}`,
      [tenantId, id, now, by],
    );
    const row = result.rows[0];
    if (row === undefined) return null;
    await recordAlertEvents(tx, tenantId, [{ alertId: row.id, kind: 'acknowledged', actor: by, details: comment === undefined ? {} : { comment }, at: now }]);
    return { tenantId, kind: 'acknowledged', alert: row };
  };

  return {
    raiseIn,
    openManyIn,
    resolveIn,
    acknowledgeIn,
    announce,
    /** Raises in its own transaction and announces the change. */
    async raise(tenantId: string, input: AlertInput): Promise<AlertChange | null> {
      const change = await deps.db.withTenant(tenantId, (tx) => raiseIn(tx, tenantId, input));
      if (change !== null) await announce([change]);
      return change;
    },
    async resolve(tenantId: string, where: { fingerprint?: string; id?: string }, by: string): Promise<AlertChange | null> {
      const change = await deps.db.withTenant(tenantId, (tx) => resolveIn(tx, tenantId, where, by));
      if (change !== null) await announce([change]);
      return change;
    },
    async acknowledge(tenantId: string, id: string, by: string, comment?: string): Promise<AlertChange | null> {
      const change = await deps.db.withTenant(tenantId, (tx) => acknowledgeIn(tx, tenantId, id, by, comment));
      if (change !== null) await announce([change]);
      return change;
    },
    onChange(listener: AlertListener): () => void {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

export type AlertStore = ReturnType<typeof createAlertStore>;
