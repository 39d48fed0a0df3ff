import type { Job } from '../platform/scheduler.js';
import type { IncidentService } from './incidents.service.js';

export const INCIDENT_AUTO_OPEN_JOB = 'incident-auto-open';

export function incidentAutoOpenJob(incidents: IncidentService, intervalMs: number, afterMs: number): Job {
  return {
    name: INCIDENT_AUTO_OPEN_JOB,
    intervalMs,
    async run({ unitFailed }) {
      await incidents.autoOpen(afterMs, unitFailed);
    },
  };
}
