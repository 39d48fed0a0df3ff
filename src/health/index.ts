export { createHealthService, type HealthService, type OverallHealth, type DependencyResult } from './health.service.js';
export { healthRoutes } from './health.routes.js';
export { healthCheckJob, HEALTH_CHECK_JOB } from './health-check.job.js';
export { categorize, worst, type CheckResult, type CheckStatus, type ErrorCategory } from './check-result.js';
