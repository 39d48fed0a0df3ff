import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { Db } from '../platform/db/index.js';
import { SEVERITIES } from './alert-store.js';
import { outboxDepth } from './notify/outbox.repository.js';

/** Alerting's own metrics on /metrics; gauges are read from the database at scrape time. */
export function createAlertingMetrics(deps: { registry: Registry; db: Db; logger: Logger }) {
  const { registry, db } = deps;
  const firing = new Gauge({
    name: 'alerts_firing',
    help: 'Open alerts in state firing, by severity (all tenants)',
    labelNames: ['severity'],
    registers: [registry],
    async collect() {
      try {
        const result = await db.asSystem((tx) =>
          tx.query<{ severity: string; n: number }>(`SELECT severity, count(*)::int AS n FROM alerts WHERE resolved = false AND status = 'firing' GROUP BY severity`),
        );
        const counts = new Map(result.rows.map((row) => [row.severity, row.n]));
        for (const severity of SEVERITIES) this.set({ severity }, counts.get(severity) ?? 0);
      } catch (error) {
        deps.logger.warn({ err: error }, 'alerts_firing collection failed');
      }
    },
  });
  const depth = new Gauge({
    name: 'alert_notification_outbox_depth',
    help: 'Notifications waiting (pending, sending) or dead-lettered in the outbox, by channel and status',
    labelNames: ['channel', 'status'],
    registers: [registry],
    async collect() {
      try {
        const rows = await db.asSystem((tx) => outboxDepth(tx));
        this.reset();
        for (const row of rows) this.set({ channel: row.channel, status: row.status }, row.n);
      } catch (error) {
        deps.logger.warn({ err: error }, 'outbox depth collection failed');
      }
    },
  });
  const sent = new Counter({ name: 'alert_notifications_sent_total', help: 'Notifications delivered, by channel', labelNames: ['channel'], registers: [registry] });
  const failed = new Counter({
    name: 'alert_notifications_failed_total',
    help: 'Failed delivery attempts, by channel and outcome (retrying, dead, not_configured)',
    labelNames: ['channel', 'outcome'],
    registers: [registry],
  });
  const evaluation = new Histogram({
    name: 'alert_evaluation_duration_seconds',
    help: 'Duration of one alert evaluation cycle over every tenant',
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  return { firing, depth, sent, failed, evaluation };
}

export type AlertingMetrics = ReturnType<typeof createAlertingMetrics>;
