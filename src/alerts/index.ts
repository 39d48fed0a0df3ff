import type { Container } from '../container.js';
import type { App } from '../platform/http/types.js';
import { alertRulesRoutes } from './alert-rules.routes.js';
import { alertsRoutes } from './alerts.routes.js';
import { policyRoutes } from './policy.routes.js';
import { receiversRoutes } from './receivers.routes.js';
import { silencesRoutes } from './silences.routes.js';

export { createAlerting, type Alerting } from './alerting.js';
export { createEmailSender, type EmailSender, type EmailMessage } from './notify/email.js';
export { createSecretBox, type SecretBox } from './receivers/secret-box.js';
export type { DeliveryOutcome } from './notify/outcome.js';
export { ruleCounts } from './alert-rules.repository.js';
export { openSilenceCounts } from './silences.repository.js';

/** Every alerting route: rules, alerts, silences, policy and channels, receivers, notifications. */
export function alertingRoutes(container: Container) {
  return async (app: App) => {
    await app.register(alertRulesRoutes(container));
    await app.register(silencesRoutes(container));
    await app.register(policyRoutes(container));
    await app.register(receiversRoutes(container));
    await app.register(alertsRoutes(container));
  };
}
