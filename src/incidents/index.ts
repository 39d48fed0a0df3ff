export { createIncidentService, AUTO_OPEN_ACTOR, type IncidentService } from './incidents.service.js';
export { incidentRoutes } from './incidents.routes.js';
export { incidentAutoOpenJob, INCIDENT_AUTO_OPEN_JOB } from './incident-auto-open.job.js';
