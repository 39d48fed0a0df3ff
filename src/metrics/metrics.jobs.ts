import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import type { Scheduler } from '../platform/scheduler.js';
import { runAggregation } from './aggregation.job.js';
import { runCleanup } from './cleanup.job.js';
import { runCompaction } from './compaction.job.js';

const DAY_MS = 86_400_000;

/** `metric-aggregation` (every METRIC_AGGREGATION_INTERVAL_MS), `metric-compaction` (every METRIC_COMPACTION_INTERVAL_MS) and `cleanup` (daily at CLEANUP_HOUR_UTC). */
export function registerMetricsJobs(deps: { config: Config; db: Db; clock: Clock; logger: Logger; scheduler: Scheduler; registry: Registry }): void {
  const { config } = deps;
  const registers = [deps.registry];
  const compactedSamples = new Counter({ name: 'monitoring_metric_compaction_samples_total', help: 'Raw samples the metric-compaction job moved from the head into chunks', registers });
  const compactedChunks = new Counter({ name: 'monitoring_metric_compaction_chunks_total', help: 'Chunks the metric-compaction job wrote', registers });
  // Alert when it stays above 1: samples of closed days pile up in the head (disk, query time).
  const closedDaysLeft = new Gauge({ name: 'monitoring_metric_head_closed_partitions', help: 'Day partitions of closed UTC days still in the head (or the pre-chunk table) after the last metric-compaction run', registers });
  deps.scheduler.add({
    name: 'metric-aggregation',
    intervalMs: config.METRIC_AGGREGATION_INTERVAL_MS,
    run: async ({ now, signal, unitFailed }) => {
      const outcome = await runAggregation({ db: deps.db, logger: deps.logger, maxMarks: config.ROLLUP_MAX_MARKS_PER_RUN, signal }, now);
      // The job logged each failed unit with its tenant; it keeps its marks for the next run.
      for (let index = 0; index < outcome.failed; index += 1) unitFailed({ tenantId: outcome.failedTenants[index] });
    },
  });
  deps.scheduler.add({
    name: 'metric-compaction',
    intervalMs: config.METRIC_COMPACTION_INTERVAL_MS,
    run: async ({ now, signal, unitFailed }) => {
      const outcome = await runCompaction({ db: deps.db, logger: deps.logger, delayMs: config.METRIC_COMPACTION_DELAY_MS, signal, onUnitFailure: (unit) => unitFailed(unit) }, now);
      compactedSamples.inc(outcome.samples);
      compactedChunks.inc(outcome.chunks);
      closedDaysLeft.set(outcome.closedDaysLeft);
    },
  });
  deps.scheduler.add({
    name: 'cleanup',
    intervalMs: config.CLEANUP_INTERVAL_MS,
    // A daily cycle starts at CLEANUP_HOUR_UTC; other intervals are not shifted.
    offsetMs: config.CLEANUP_INTERVAL_MS === DAY_MS ? config.CLEANUP_HOUR_UTC * 3_600_000 : 0,
    timeoutMs: Math.min(config.CLEANUP_INTERVAL_MS, 30 * 60_000),
    run: async ({ now, unitFailed }) => {
      await runCleanup({ db: deps.db, logger: deps.logger, config, onUnitFailure: unitFailed }, now);
    },
  });
}
