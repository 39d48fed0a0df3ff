import type { Config } from '../../config.js';
import type { Clock } from '../../platform/clock.js';
import type { Channel } from './channel.js';
import { outcomeOfNetworkError, outcomeOfResponse } from './outcome.js';
import { titleOf } from './payload.js';

/**
 * PagerDuty Events API v2: one event per alert, dedup_key = the alert's fingerprint, to the
 * routing key of the notification's tenant. A trigger carries the tenant in custom_details.
 */
export function createPagerDutyChannel(deps: { config: Config; clock: Clock }): Channel<'pagerduty'> {
  const { config } = deps;
  return {
    name: 'pagerduty',
    unavailable: null,
    async send(message, receiver) {
      const routingKey = receiver.routing_key;
      const { payload } = message;
      const event = payload.pagerduty;
      const alert = payload.alerts[0];
      if (event === undefined || alert === undefined) return { status: 'failed', error: 'notification has no PagerDuty event' };
      const body =
        event.event_action === 'trigger'
          ? {
              routing_key: routingKey,
              event_action: 'trigger',
              dedup_key: event.dedup_key,
              payload: {
                summary: `${titleOf(payload)} ${alert.message}`.slice(0, 1024),
                source: alert.service_name ?? config.SERVICE_NAME,
                severity: alert.severity,
                timestamp: alert.starts_at,
                component: alert.service_name ?? undefined,
                group: payload.group_labels['alertname'] ?? alert.name,
                class: alert.name,
                custom_details: { tenant_id: message.tenant_id, labels: alert.labels, annotations: alert.annotations, value: alert.value, reason: payload.reason, level: payload.level ?? null },
              },
              client: config.SERVICE_NAME,
              client_url: `${config.ALERT_EXTERNAL_URL}/api/v1/monitoring/alerts/${alert.id}`,
              links: alert.annotations['runbook_url'] === undefined ? [] : [{ href: alert.annotations['runbook_url'], text: 'Runbook' }],
            }
          : { routing_key: routingKey, event_action: event.event_action, dedup_key: event.dedup_key };
      try {
        const response = await fetch(config.PAGERDUTY_EVENTS_URL, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(config.NOTIFICATION_TIMEOUT_MS),
        });
        return await outcomeOfResponse(response, deps.clock.nowMs());
      } catch (error) {
        return outcomeOfNetworkError(error);
      }
    },
  };
}
