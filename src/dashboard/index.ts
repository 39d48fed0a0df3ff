export { createDashboardService, type DashboardService, type ForecastProvider } from './dashboard.service.js';
export { dashboardRoutes } from './dashboard.routes.js';
export { dashboardsRoutes } from './dashboards.routes.js';
export { dashboardCounts } from './dashboards.repository.js';
