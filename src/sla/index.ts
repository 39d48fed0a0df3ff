export { createSlaService, previousUtcDay, type SlaService, type SlaEntry } from './sla.service.js';
export { slaRoutes, rangeOf, RangeQuerySchema } from './sla.routes.js';
export { slaComputationJob, SLA_COMPUTATION_JOB } from './sla-computation.job.js';
