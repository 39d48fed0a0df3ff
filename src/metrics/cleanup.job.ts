import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db, Tx } from '../platform/db/index.js';
import type { UnitFailed } from '../platform/scheduler.js';
import { pruneSettled } from '../alerts/notify/outbox.repository.js';
import { cleanupElasticsearchIndices } from './elasticsearch-cleanup.js';
import { pruneIdempotencyKeys } from './idempotency.repository.js';
import { utcDay } from './metrics.repository.js';

export interface CleanupOutcome {
  droppedPartitions: number;
  deletedRollups: number;
  deletedAlerts: number;
  /** Settled notification records and Slack threads past the alert retention. */
  deletedNotifications: number;
  deletedFraudEvents: number;
  /** Push idempotency keys older than IDEMPOTENCY_WINDOW_HOURS. */
  deletedIdempotencyKeys: number;
  createdPartitions: number;
  /** Database steps that failed this run (their counts above are 0); each is retried next run. */
  failedSteps: string[];
  elasticsearch: { deleted: string[] } | 'not configured';
}

type CleanupConfig = Pick<
  Config,
  'METRICS_RETENTION_DAYS' | 'ROLLUP_RETENTION_DAYS' | 'IDEMPOTENCY_WINDOW_HOURS' | 'ALERT_RETENTION_DAYS' | 'FRAUD_RETENTION_DAYS' | 'METRICS_PARTITIONS_AHEAD_DAYS' | 'ELASTICSEARCH_URL' | 'ELASTICSEARCH_LOG_INDEX_PATTERN' | 'ELASTICSEARCH_LOG_RETENTION_DAYS' | 'ELASTICSEARCH_TIMEOUT_MS'
>;

/**
 * One run of `cleanup`: raw samples by dropping daily partitions, rollups, resolved alerts,
 * settled notification records, investigated fraud events, push idempotency keys past their
 * window, partitions created ahead, then old Elasticsearch log indices. Each database step is its
 * own transaction: one that fails (a lock, a timeout) is logged, reported and retried next run,
 * and the others still run (partitions ahead are created even when a deletion failed).
 */
export async function runCleanup(deps: { db: Db; logger: Logger; config: CleanupConfig; onUnitFailure?: UnitFailed }, now: Date): Promise<CleanupOutcome> {
  const { config } = deps;
  const failedSteps: string[] = [];
  const step = async <T>(name: string, nothing: T, work: (tx: Tx) => Promise<T>): Promise<T> => {
    try {
      return await deps.db.asSystem(work);
    } catch (error) {
      failedSteps.push(name);
      deps.logger.error({ err: error, step: name }, 'cleanup step failed; it is retried next run');
      deps.onUnitFailure?.({ step: name }, error);
      return nothing;
    }
  };
  const metrics = await step('metrics', { droppedPartitions: 0, deletedRollups: 0 }, async (tx) => {
    const result = await tx.query<{ dropped_partitions: number; deleted_rollups: number }>('SELECT dropped_partitions, deleted_rollups FROM cleanup_old_metrics($1, $2, $3)', [
      config.METRICS_RETENTION_DAYS,
      config.ROLLUP_RETENTION_DAYS,
      now.toISOString(),
    ]);
    return { droppedPartitions: Number(result.rows[0]?.dropped_partitions ?? 0), deletedRollups: Number(result.rows[0]?.deleted_rollups ?? 0) };
  });
  const deletedFraudEvents = await step('fraud_events', 0, async (tx) => {
    const result = await tx.query<{ deleted: number }>('SELECT cleanup_old_fraud_events($1, $2) AS deleted', [config.FRAUD_RETENTION_DAYS, now.toISOString()]);
    return Number(result.rows[0]?.deleted ?? 0);
  });
  const deletedAlerts = await step('alerts', 0, async (tx) => {
    const result = await tx.query(`DELETE FROM alerts WHERE resolved = true AND coalesce(resolved_at, updated_at) < $1::timestamptz - make_interval(days => $2)`, [now.toISOString(), config.ALERT_RETENTION_DAYS]);
    return result.rowCount;
  });
  const deletedNotifications = await step('notifications', 0, (tx) => pruneSettled(tx, new Date(now.getTime() - config.ALERT_RETENTION_DAYS * 86_400_000)));
  // One DELETE over every tenant, bounded by the index on created_at: a window holds one row per keyed push.
  const deletedIdempotencyKeys = await step('idempotency_keys', 0, (tx) => pruneIdempotencyKeys(tx, new Date(now.getTime() - config.IDEMPOTENCY_WINDOW_HOURS * 3_600_000)));
  const ahead = new Date(now.getTime() + config.METRICS_PARTITIONS_AHEAD_DAYS * 86_400_000);
  const createdPartitions = await step('partitions', 0, async (tx) => {
    const result = await tx.query<{ created: number }>('SELECT ensure_metrics_partitions($1::date, $2::date) AS created', [utcDay(now), utcDay(ahead)]);
    return Number(result.rows[0]?.created ?? 0);
  });
  const database = { ...metrics, deletedFraudEvents, deletedAlerts, deletedNotifications, deletedIdempotencyKeys, createdPartitions, failedSteps };
  let elasticsearch: CleanupOutcome['elasticsearch'] = 'not configured';
  if (config.ELASTICSEARCH_URL !== undefined) {
    const deleted = await cleanupElasticsearchIndices(
      { url: config.ELASTICSEARCH_URL, pattern: config.ELASTICSEARCH_LOG_INDEX_PATTERN, retentionDays: config.ELASTICSEARCH_LOG_RETENTION_DAYS, timeoutMs: config.ELASTICSEARCH_TIMEOUT_MS },
      now,
    );
    elasticsearch = { deleted };
  }
  const outcome = { ...database, elasticsearch };
  deps.logger.info(outcome, 'cleanup finished');
  return outcome;
}
