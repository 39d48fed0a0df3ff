import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Db } from '../platform/db/index.js';
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
  elasticsearch: { deleted: string[] } | 'not configured';
}

type CleanupConfig = Pick<
  Config,
  'METRICS_RETENTION_DAYS' | 'ROLLUP_RETENTION_DAYS' | 'IDEMPOTENCY_WINDOW_HOURS' | 'ALERT_RETENTION_DAYS' | 'FRAUD_RETENTION_DAYS' | 'METRICS_PARTITIONS_AHEAD_DAYS' | 'ELASTICSEARCH_URL' | 'ELASTICSEARCH_LOG_INDEX_PATTERN' | 'ELASTICSEARCH_LOG_RETENTION_DAYS' | 'ELASTICSEARCH_TIMEOUT_MS'
>;

/**
 * One run of `cleanup`: raw samples by dropping daily partitions, rollups, resolved alerts,
 * settled notification records, investigated fraud events, push idempotency keys past their
 * window, partitions created ahead, then old Elasticsearch log indices.
 */
export async function runCleanup(deps: { db: Db; logger: Logger; config: CleanupConfig }, now: Date): Promise<CleanupOutcome> {
  const { config } = deps;
  const database = await deps.db.asSystem(async (tx) => {
    const metrics = await tx.query<{ dropped_partitions: number; deleted_rollups: number }>('SELECT dropped_partitions, deleted_rollups FROM cleanup_old_metrics($1, $2, $3)', [
      config.METRICS_RETENTION_DAYS,
      config.ROLLUP_RETENTION_DAYS,
      now.toISOString(),
    ]);
    const fraud = await tx.query<{ deleted: number }>('SELECT cleanup_old_fraud_events($1, $2) AS deleted', [config.FRAUD_RETENTION_DAYS, now.toISOString()]);
    const alerts = await tx.query(`DELETE FROM alerts WHERE resolved = true AND coalesce(resolved_at, updated_at) < $1::timestamptz - make_interval(days => $2)`, [now.toISOString(), config.ALERT_RETENTION_DAYS]);
    const notifications = await pruneSettled(tx, new Date(now.getTime() - config.ALERT_RETENTION_DAYS * 86_400_000));
    // One DELETE over every tenant, bounded by the index on created_at: a window holds one row per keyed push.
    const idempotencyKeys = await pruneIdempotencyKeys(tx, new Date(now.getTime() - config.IDEMPOTENCY_WINDOW_HOURS * 3_600_000));
    const ahead = new Date(now.getTime() + config.METRICS_PARTITIONS_AHEAD_DAYS * 86_400_000);
    const created = await tx.query<{ created: number }>('SELECT ensure_metrics_partitions($1::date, $2::date) AS created', [utcDay(now), utcDay(ahead)]);
    return {
      droppedPartitions: Number(metrics.rows[0]?.dropped_partitions ?? 0),
      deletedRollups: Number(metrics.rows[0]?.deleted_rollups ?? 0),
      deletedFraudEvents: Number(fraud.rows[0]?.deleted ?? 0),
      deletedAlerts: alerts.rowCount,
      deletedNotifications: notifications,
      deletedIdempotencyKeys: idempotencyKeys,
      createdPartitions: Number(created.rows[0]?.created ?? 0),
    };
  });
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
