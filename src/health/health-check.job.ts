import type { Job } from '../platform/scheduler.js';
import type { HealthService } from './health.service.js';

export const HEALTH_CHECK_JOB = 'health-check';

/** Checks every configured service and dependency once per interval, cluster-wide. */
export function healthCheckJob(health: HealthService, intervalMs: number): Job {
  return {
    name: HEALTH_CHECK_JOB,
    intervalMs,
    async run() {
      await health.runCycle();
    },
  };
}
