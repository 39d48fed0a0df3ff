import type { SampleSource } from '../metrics/index.js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Ingest } from '../metrics/ingest.js';
import type { Clock } from '../platform/clock.js';
import type { Db, Tx } from '../platform/db/index.js';
import type { Job } from '../platform/scheduler.js';
import { ALERT_COLUMNS, type AlertChange, type AlertRow, type AlertStore } from './alert-store.js';
import { createAlertingMetrics, type AlertingMetrics } from './alerting.metrics.js';
import { CHANNELS, type ChannelName } from './channels.js';
import { ensureDefaultRules } from './default-rules.js';
import { createDispatcher, groupOf, notifiedAlert } from './dispatch.js';
import { createEscalation } from './escalation.js';
import { createEvaluator } from './evaluator.js';
import { createDelivery } from './notify/delivery.js';
import { createEmailChannel } from './notify/email.channel.js';
import type { EmailSender } from './notify/email.js';
import type { ChannelSet } from './notify/channel.js';
import { enqueueNotification } from './notify/enqueue.js';
import { createPagerDutyChannel } from './notify/pagerduty.channel.js';
import { createSlackChannel } from './notify/slack.channel.js';
import { createWebhookChannel } from './notify/webhook.channel.js';
import { loadPolicy } from './policy.js';
import { environmentReceivers } from './receivers/receiver.js';
import { createReceivers } from './receivers/receivers.service.js';
import type { SecretBox } from './receivers/secret-box.js';

export interface AlertingDeps {
  config: Config;
  db: Db;
  clock: Clock;
  logger: Logger;
  alerts: AlertStore;
  registry: Registry;
  email: EmailSender;
  ingest: Ingest;
  /** Signs the platform tenant's webhook bodies when WEBHOOK_SECRET is not set. */
  hmacSecret: string;
  /** Seals and opens the secrets of tenants' receivers (RECEIVER_SECRETS_KEY and its predecessors). */
  receiverSecrets: SecretBox;
  /** Where rule windows read samples. */
  samples: SampleSource;
}

export async function getAlert(tx: Tx, tenantId: string, id: string): Promise<AlertRow | undefined> {
  const result = await tx.query<AlertRow>(`SELECT ${ALERT_COLUMNS} FROM alerts WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return result.rows[0];
}

/** Builds the alerting domain: evaluator, dispatcher, outbox delivery, escalation, channels, jobs. */
export function createAlerting(deps: AlertingDeps) {
  const { config, db, clock, logger, alerts } = deps;
  const metrics: AlertingMetrics = createAlertingMetrics({ registry: deps.registry, db, logger });
  const channels: ChannelSet = {
    email: createEmailChannel(config, deps.email),
    slack: createSlackChannel({ config, db, clock, logger }),
    pagerduty: createPagerDutyChannel({ config, clock }),
    webhook: createWebhookChannel({ config, clock }),
  };
  // Each tenant's notifications go to its own receivers; the environment's serve the platform tenant only.
  const environment = environmentReceivers(config, deps.hmacSecret);
  const transport = { email: channels.email.unavailable, slack: channels.slack.unavailable, pagerduty: channels.pagerduty.unavailable, webhook: channels.webhook.unavailable };
  const receivers = createReceivers({ db, clock, logger, box: deps.receiverSecrets, platformTenantId: config.SYSTEM_TENANT_ID, environment, transport });
  const evaluator = createEvaluator({ db, clock, logger, alerts, samples: deps.samples });
  const dispatcher = createDispatcher({ db, clock, logger, channels: receivers });
  const delivery = createDelivery({ config, db, clock, logger, channels, receivers, metrics });
  const escalation = createEscalation({ db, clock, logger, channels: receivers });

  const unsubscribe = alerts.onChange((change) => escalation.onAlertChange(change));

  // Default rules are seeded lazily: on a tenant's first pushed sample (once per process) and on any rules call.
  // The pending promise is kept so concurrent first batches of a tenant share one seeding transaction.
  const seeding = new Map<string, Promise<void>>();
  const seedDefaults = (tenantId: string): Promise<void> => {
    const existing = seeding.get(tenantId);
    if (existing !== undefined) return existing;
    const attempt = db.withTenant(tenantId, (tx) => ensureDefaultRules(tx, tenantId, clock.now())).then(() => undefined);
    seeding.set(tenantId, attempt);
    attempt.catch(() => seeding.delete(tenantId));
    return attempt;
  };
  const stopSeeding = deps.ingest.onCommitted('default_rules', (batch) => seedDefaults(batch.tenantId));

  const notConfigured = CHANNELS.flatMap((name) => {
    const missing = transport[name];
    if (missing !== null) return [`alerts: ${missing}; no tenant's ${name} notifications can be sent, they are recorded with status not_configured`];
    const fallback = environment[name];
    return typeof fallback === 'string'
      ? [`alerts: ${fallback}; the platform tenant's ${name} notifications are recorded with status not_configured unless it configures a receiver through the API`]
      : [];
  });

  /** Slack thread update and PagerDuty acknowledge for an alert that was notified. */
  const enqueueAcknowledgement = async (tx: Tx, tenantId: string, alert: AlertRow, by: string, now: Date): Promise<void> => {
    if (alert.fired_at === null) return;
    const { policy } = await loadPolicy(tx, tenantId);
    const rule = alert.rule_id === null ? undefined : (await tx.query<{ channels: ChannelName[] | null }>('SELECT channels FROM alert_rules WHERE tenant_id = $1 AND id = $2', [tenantId, alert.rule_id])).rows[0];
    const group = groupOf(alert, rule?.channels ?? null, policy);
    const targets = group.channels.filter((name) => name === 'slack' || name === 'pagerduty');
    if (targets.length === 0) return;
    const payload = {
      kind: 'acknowledgement' as const, status: 'firing' as const, severity: alert.severity, reason: `acknowledged by ${by}`, actor: by, group_key: group.key,
      group_labels: group.groupLabels, common_labels: {}, common_annotations: alert.annotations, alerts: [notifiedAlert(alert, 'firing')],
    };
    await enqueueNotification(tx, tenantId, now, receivers, { channels: targets, payload, alertId: alert.id, pagerDuty: [{ action: 'acknowledge', alertIndex: 0 }] });
  };

  const jobs: Job[] = [
    {
      name: 'alert-evaluation',
      intervalMs: config.ALERT_EVALUATION_INTERVAL_MS,
      async run({ unitFailed }) {
        const stop = metrics.evaluation.startTimer();
        try {
          await evaluator.evaluateAll(unitFailed);
        } finally {
          stop();
        }
      },
    },
    {
      name: 'notification-delivery',
      intervalMs: config.NOTIFICATION_INTERVAL_MS,
      async run({ unitFailed }) {
        await dispatcher.dispatchAll(unitFailed);
        await delivery.deliverDue({ onUnitFailure: unitFailed });
      },
    },
    { name: 'alert-escalation', intervalMs: config.ALERT_ESCALATION_INTERVAL_MS, run: async ({ unitFailed }) => void (await escalation.escalateAll(unitFailed)) },
  ];

  return {
    channels,
    receivers,
    metrics,
    evaluator,
    dispatcher,
    delivery,
    escalation,
    jobs,
    notConfigured,
    seedDefaults,
    /** Idempotent: a second acknowledgement returns the alert as it is, with the first actor. */
    async acknowledge(tenantId: string, id: string, by: string, comment?: string): Promise<AlertRow> {
      const now = clock.now();
      const { alert, change } = await db.withTenant(tenantId, async (tx): Promise<{ alert: AlertRow; change: AlertChange | null }> => {
        const current = await getAlert(tx, tenantId, id);
        if (current === undefined) throw new NotFoundError('Alert', id);
        if (current.acknowledged_at !== null) return { alert: current, change: null };
        if (current.resolved) throw new ConflictError('Alert is already resolved', { id, resolved_at: current.resolved_at });
        const acknowledged = await alerts.acknowledgeIn(tx, tenantId, id, by, comment);
        if (acknowledged === null) return { alert: current, change: null };
        await enqueueAcknowledgement(tx, tenantId, acknowledged.alert, by, now);
        return { alert: acknowledged.alert, change: acknowledged };
      });
      if (change !== null) await alerts.announce([change]);
      return alert;
    },
    /** Idempotent: resolving a resolved alert returns it unchanged. */
    async resolve(tenantId: string, id: string, by: string, comment?: string): Promise<AlertRow> {
      const { alert, change } = await db.withTenant(tenantId, async (tx): Promise<{ alert: AlertRow; change: AlertChange | null }> => {
        const current = await getAlert(tx, tenantId, id);
        if (current === undefined) throw new NotFoundError('Alert', id);
        if (current.resolved) return { alert: current, change: null };
        const resolved = await alerts.resolveIn(tx, tenantId, { id }, by, comment === undefined ? { reason: 'resolved by user' } : { reason: 'resolved by user', comment });
        return resolved === null ? { alert: current, change: null } : { alert: resolved.alert, change: resolved };
      });
      if (change !== null) await alerts.announce([change]);
      return alert;
    },
    /** Key rotation at start: re-seals secrets sealed under a previous key; answers the warnings for operators. */
    async rotateReceiverSecrets(): Promise<string[]> {
      try {
        const { resealed, unreadable } = await receivers.rekey();
        logger.info({ resealed, unreadable }, 'receiver secrets re-encrypted with RECEIVER_SECRETS_KEY');
        return unreadable === 0 ? [] : [`alerts: ${unreadable} receiver secrets are sealed with a key that is neither RECEIVER_SECRETS_KEY nor in RECEIVER_SECRETS_KEY_PREVIOUS; their notifications cannot be sent`];
      } catch (error) {
        logger.error({ err: error }, 'receiver secrets could not be re-encrypted');
        return ['alerts: re-encrypting receiver secrets with RECEIVER_SECRETS_KEY failed (see the log); keep RECEIVER_SECRETS_KEY_PREVIOUS set and restart'];
      }
    },
    close(): void {
      unsubscribe();
      stopSeeding();
    },
  };
}

export type Alerting = ReturnType<typeof createAlerting>;
