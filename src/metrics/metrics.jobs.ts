import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import type { Scheduler } from '../platform/scheduler.js';
import { runAggregation } from './aggregation.job.js';
import { runCleanup } from './cleanup.job.js';
import { runCompaction } from './compaction.job.js';

const DAY_MS = 86_400_000;

/** `metric-aggregation` (every METRIC_AGGREGATION_INTERVAL_MS), `metric-compaction` (every METRIC_COMPACTION_INTERVAL_MS) and `cleanup` (daily at CLEANUP_HOUR_UTC). */
export function registerMetricsJobs(deps: { config: Config; db: Db; clock: Clock; logger: Logger; scheduler: Scheduler }): void {
  const { config } = deps;
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
      await runCompaction({ db: deps.db, logger: deps.logger, delayMs: config.METRIC_COMPACTION_DELAY_MS, signal, onUnitFailure: (unit) => unitFailed(unit) }, now);
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
