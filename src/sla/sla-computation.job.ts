import type { Logger } from 'pino';
import type { Job } from '../platform/scheduler.js';
import { previousUtcDay, type SlaService } from './sla.service.js';

export const SLA_COMPUTATION_JOB = 'sla-computation';
const DAY_MS = 86_400_000;

/**
 * Once per cycle (daily by default, 00:15 UTC), the previous UTC day of every tenant into
 * sla_metrics, tenant by tenant; then the day before for the tenants that have no row of it (a
 * tenant that failed yesterday is retried once).
 */
export function slaComputationJob(sla: SlaService, intervalMs: number, logger: Logger): Job {
  return {
    name: SLA_COMPUTATION_JOB,
    intervalMs,
    offsetMs: intervalMs >= 86_400_000 ? 15 * 60_000 : 0,
    timeoutMs: Math.min(intervalMs, 30 * 60_000),
    async run({ now, unitFailed }) {
      const { from, to } = previousUtcDay(now);
      const stored = await sla.computeAndStore(from, to, unitFailed);
      const retried = await sla.computeAndStore(new Date(from.getTime() - DAY_MS), from, unitFailed, { onlyMissing: true });
      logger.info({ from: from.toISOString(), to: to.toISOString(), stored, retried }, 'sla computed');
    },
  };
}
