import type { Config } from '../../config.js';
import type { Clock } from '../../platform/clock.js';
import { hmacHex } from '../../auth/index.js';
import { canonicalLabels } from '../fingerprint.js';
import type { Channel } from './channel.js';
import { outcomeOfNetworkError, outcomeOfResponse } from './outcome.js';
import { refusedTenantDestination } from './tenant-destination.js';
import type { NotificationPayload } from './payload.js';

export const WEBHOOK_SIGNATURE_HEADER = 'x-monitoring-signature';
export const WEBHOOK_TIMESTAMP_HEADER = 'x-monitoring-timestamp';
export const WEBHOOK_TENANT_HEADER = 'x-monitoring-tenant-id';
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Alertmanager's webhook body, version 4, so existing receivers parse it unchanged; `tenant_id` is added. */
export function alertmanagerPayload(payload: NotificationPayload, externalUrl: string, tenantId: string) {
  return {
    version: '4',
    tenant_id: tenantId,
    groupKey: `{}:${canonicalLabels(payload.group_labels)}`,
    truncatedAlerts: 0,
    status: payload.status,
    receiver: 'monitoring-service',
    groupLabels: payload.group_labels,
    commonLabels: payload.common_labels,
    commonAnnotations: payload.common_annotations,
    externalURL: externalUrl,
    notification_reason: payload.reason,
    kind: payload.kind,
    severity: payload.severity,
    ...(payload.level === undefined ? {} : { escalation_level: payload.level }),
    alerts: payload.alerts.map((alert) => ({
      status: alert.status,
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: alert.starts_at,
      endsAt: alert.ends_at ?? ZERO_TIME,
      generatorURL: `${externalUrl}/api/v1/monitoring/alerts/${alert.id}`,
      fingerprint: alert.fingerprint,
    })),
  };
}

/**
 * POSTs the payload to the URL of the notification's tenant, signed with HMAC-SHA256 when the
 * receiver has a secret: `x-monitoring-signature: sha256=<hex>` over `<x-monitoring-timestamp>.<raw body>`,
 * so receivers can check origin and freshness.
 */
export function createWebhookChannel(deps: { config: Config; clock: Clock }): Channel<'webhook'> {
  return {
    name: 'webhook',
    unavailable: null,
    async send(message, receiver) {
      const body = JSON.stringify(alertmanagerPayload(message.payload, deps.config.ALERT_EXTERNAL_URL, message.tenant_id));
      const timestamp = String(deps.clock.nowMs());
      const headers: Record<string, string> = { 'content-type': 'application/json', 'x-notification-id': message.id, [WEBHOOK_TENANT_HEADER]: message.tenant_id, [WEBHOOK_TIMESTAMP_HEADER]: timestamp };
      if (receiver.secret !== null) headers[WEBHOOK_SIGNATURE_HEADER] = `sha256=${hmacHex(receiver.secret, `${timestamp}.${body}`)}`;
      const refused = await refusedTenantDestination(deps.config, message.tenant_id, receiver.url);
      if (refused !== undefined) return refused;
      try {
        const response = await fetch(receiver.url, {
          method: 'POST',
          headers,
          body,
          // A redirect is not followed: it could lead a tenant's notification into the internal network.
          redirect: 'manual',
          signal: AbortSignal.timeout(deps.config.NOTIFICATION_TIMEOUT_MS),
        });
        return await outcomeOfResponse(response, deps.clock.nowMs());
      } catch (error) {
        return outcomeOfNetworkError(error);
      }
    },
  };
}
