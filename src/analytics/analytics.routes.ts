import type { Container } from '../container.js';
import { anomalyRoutes } from '../ml/anomaly/anomaly.routes.js';
import type { App } from '../platform/http/types.js';

/** Every route of the analytics and ML domain (anomalies, models, fraud, sales, forecasts). */
export function analyticsRoutes(container: Container) {
  return async (app: App) => {
    await app.register(anomalyRoutes(container));
  };
}
