import type { Config } from '../../config.js';
import type { Clock } from '../../platform/clock.js';
import { hmacHex } from '../../auth/index.js';
import { canonicalLabels } from '../fingerprint.js';
import type { Channel } from './channel.js';
import { outcomeOfNetworkError, outcomeOfResponse } from './outcome.js';
import type { NotificationPayload } from './payload.js';

export const WEBHOOK_SIGNATURE_HEADER = 'x-monitoring-signature';
export const WEBHOOK_TIMESTAMP_HEADER = 'x-monitoring-timestamp';
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Alertmanager's webhook body, version 4, so existing receivers parse it unchanged. */
export function alertmanagerPayload(payload: NotificationPayload, externalUrl: string) {
  return {
    version: '4',
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
 * POSTs the payload signed with HMAC-SHA256: `x-monitoring-signature: sha256=<hex>` over
 * `<x-monitoring-timestamp>.<raw body>`, so receivers can check origin and freshness.
 */
export function createWebhookChannel(deps: { config: Config; clock: Clock; secret: string }): Channel {
  const url = deps.config.WEBHOOK_URL;
  if (url === undefined) return { name: 'webhook', notConfigured: 'webhook is not configured (set WEBHOOK_URL)', send: async () => ({ status: 'failed', error: 'webhook is not configured' }) };
  return {
    name: 'webhook',
    notConfigured: null,
    async send(message) {
      const body = JSON.stringify(alertmanagerPayload(message.payload, deps.config.ALERT_EXTERNAL_URL));
      const timestamp = String(deps.clock.nowMs());
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-notification-id': message.id,
            [WEBHOOK_TIMESTAMP_HEADER]: timestamp,
            [WEBHOOK_SIGNATURE_HEADER]: `sha256=${hmacHex(deps.secret, `${timestamp}.${body}`)}`,
          },
          body,
          signal: AbortSignal.timeout(deps.config.NOTIFICATION_TIMEOUT_MS),
        });
        return await outcomeOfResponse(response, deps.clock.nowMs());
      } catch (error) {
        return outcomeOfNetworkError(error);
      }
    },
  };
}
