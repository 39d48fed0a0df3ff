import type { Logger } from 'pino';
import type { Job } from '../platform/scheduler.js';
import { previousUtcDay, type SlaService } from './sla.service.js';

export const SLA_COMPUTATION_JOB = 'sla-computation';

/** Once per cycle (daily by default, 00:15 UTC), the previous UTC day of every tenant into sla_metrics. */
export function slaComputationJob(sla: SlaService, intervalMs: number, logger: Logger): Job {
  return {
    name: SLA_COMPUTATION_JOB,
    intervalMs,
    offsetMs: intervalMs >= 86_400_000 ? 15 * 60_000 : 0,
    timeoutMs: Math.min(intervalMs, 30 * 60_000),
    async run({ now }) {
      const { from, to } = previousUtcDay(now);
      const stored = await sla.computeAndStore(from, to);
      logger.info({ from: from.toISOString(), to: to.toISOString(), stored }, 'sla computed');
    },
  };
}
