import type { Container } from '../container.js';
import { anomalyRoutes } from '../ml/anomaly/anomaly.routes.js';
import { forecastRoutes } from '../ml/forecast/forecast.routes.js';
import { mlAnalysisRoutes } from '../ml/analysis/analysis.routes.js';
import type { App } from '../platform/http/types.js';
import { fraudRoutes } from './fraud/fraud.routes.js';
import { salesRoutes } from './sales/sales.routes.js';

/** Every route of the analytics and ML domain (anomalies, models, fraud, sales, dashboard). */
export function analyticsRoutes(container: Container) {
  return async (app: App) => {
    await app.register(anomalyRoutes(container));
    await app.register(fraudRoutes(container));
    await app.register(salesRoutes(container));
    await app.register(forecastRoutes(container));
    await app.register(mlAnalysisRoutes(container));
  };
}
