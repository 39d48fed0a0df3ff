import { Counter, type Registry } from 'prom-client';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import { failureReason } from './client-errors.js';

/** What happened to one source in one collector run. */
export type SourceOutcome =
  | { status: 'ok'; valuesRecorded: number }
  | { status: 'not_configured'; variable: string }
  | { status: 'error'; error: unknown };

/** A stored row as the API shows it: scoped, without the tenant, times in ISO form. */
export type SourceStatusRow = Omit<StoredRow, 'tenant_id' | 'last_attempt_at' | 'last_success_at'> & {
  scope: 'tenant' | 'platform';
  last_attempt_at: string;
  last_success_at: string | null;
};

export interface SourceStatus {
  record(tenantId: string, collector: string, source: string, outcome: SourceOutcome): Promise<void>;
  /** The tenant's own sources, then the platform-wide ones (kept under the system tenant). */
  list(tenantId: string): Promise<SourceStatusRow[]>;
}

interface StoredRow {
  tenant_id: string;
  collector: string;
  source: string;
  status: 'ok' | 'error' | 'not_configured';
  reason: string | null;
  message: string | null;
  values_recorded: number;
  consecutive_failures: number;
  last_attempt_at: Date;
  last_success_at: Date | null;
}

/**
 * Collector sources report here after each attempt: the reason for a missing value is stored
 * (visible through the API from any instance) and counted on /metrics as
 * `collector_errors_total{collector,source,reason}`.
 */
export function createSourceStatus(deps: { db: Db; clock: Clock; registry: Registry; systemTenantId: string }): SourceStatus {
  const errors = new Counter({
    name: 'collector_errors_total',
    help: 'Collector source failures by reason (timeout, network, http_status, malformed_body, invalid_response, circuit_open, ...)',
    labelNames: ['collector', 'source', 'reason'],
    registers: [deps.registry],
  });

  return {
    async record(tenantId, collector, source, outcome) {
      const now = deps.clock.now();
      let reason: string | null = null;
      let message: string | null = null;
      if (outcome.status === 'error') {
        ({ reason, message } = failureReason(outcome.error));
        errors.inc({ collector, source, reason });
      } else if (outcome.status === 'not_configured') {
        reason = 'not_configured';
        message = `not configured (set ${outcome.variable})`;
      }
      const ok = outcome.status === 'ok';
      await deps.db.withTenant(tenantId, (tx) =>
        tx.query(
          `INSERT INTO collector_status (tenant_id, collector, source, status, reason, message, values_recorded, consecutive_failures, last_attempt_at, last_success_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
           ON CONFLICT (tenant_id, collector, source) DO UPDATE SET
             status = EXCLUDED.status, reason = EXCLUDED.reason, message = EXCLUDED.message,
             values_recorded = EXCLUDED.values_recorded, last_attempt_at = EXCLUDED.last_attempt_at,
             consecutive_failures = CASE WHEN EXCLUDED.status = 'error' THEN collector_status.consecutive_failures + 1 ELSE 0 END,
             last_success_at = COALESCE(EXCLUDED.last_success_at, collector_status.last_success_at)
           WHERE collector_status.tenant_id = $1`,
          [tenantId, collector, source, outcome.status, reason, message, ok ? outcome.valuesRecorded : 0, outcome.status === 'error' ? 1 : 0, now, ok ? now : null],
        ),
      );
    },
    async list(tenantId) {
      const select = `SELECT tenant_id, collector, source, status, reason, message, values_recorded, consecutive_failures, last_attempt_at, last_success_at
                      FROM collector_status WHERE tenant_id = $1 ORDER BY collector, source`;
      const own = await deps.db.withTenant(tenantId, (tx) => tx.query<StoredRow>(select, [tenantId]));
      // Platform-wide sources (Solana RPC, IPFS) belong to the system tenant; every tenant may see their state.
      const platform = tenantId === deps.systemTenantId ? { rows: [] } : await deps.db.asSystem((tx) => tx.query<StoredRow>(select, [deps.systemTenantId]));
      const shape = (scope: 'tenant' | 'platform') => ({ tenant_id: _tenant, last_attempt_at, last_success_at, ...row }: StoredRow): SourceStatusRow => ({
        scope,
        ...row,
        last_attempt_at: last_attempt_at.toISOString(),
        last_success_at: last_success_at === null ? null : last_success_at.toISOString(),
      });
      return [...own.rows.map(shape(tenantId === deps.systemTenantId ? 'platform' : 'tenant')), ...platform.rows.map(shape('platform'))];
    },
  };
}
