import { Type } from '@sinclair/typebox';
import { actorOf, principalOf, READ } from '../auth/index.js';
import type { Container } from '../container.js';
import { ConflictError, NotFoundError } from '../errors.js';
import { OffsetPageQuery, OffsetPageSchema } from '../platform/http/pagination.js';
import type { App } from '../platform/http/types.js';
import { SEVERITIES } from './alert-store.js';
import { getAlert } from './alerting.js';
import { alertEvents, escalationOf, listAlerts, type AlertFilter } from './alerts.repository.js';
import { AlertSchema, toAlertJson } from './alerts.schema.js';
import { CHANNELS } from './channels.js';
import { listOutbox, requeueDead, type OutboxRow } from './notify/outbox.repository.js';

const literals = <T extends string>(values: readonly T[]) => Type.Union(values.map((value) => Type.Literal(value)));
const ACT = { roles: ['admin', 'operator'], services: false, scope: 'alerts' } as const;
const ADMIN = { roles: ['admin'], services: false } as const;
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
/** Filters the active-alerts list and the history share. */
const AlertListQuery = { severity: Type.Optional(literals(SEVERITIES)), service: Type.Optional(Type.String({ maxLength: 100 })), rule_id: Type.Optional(Type.String({ format: 'uuid' })), ...OffsetPageQuery };
// Fastify validates a missing body as null: the comment is optional and so is the body.
const ActionBody = Type.Union([Type.Null(), Type.Object({ comment: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })) }, { additionalProperties: false })]);

const NotificationSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  channel: Type.String(),
  kind: Type.String(),
  status: Type.String({ description: 'pending | sending | delivered | dead | not_configured' }),
  severity: Type.String(),
  alert_id: Type.Union([Type.String(), Type.Null()]),
  group_key: Type.Union([Type.String(), Type.Null()]),
  title: Type.String(),
  attempts: Type.Integer(),
  next_attempt_at: Type.String({ format: 'date-time' }),
  last_error: Type.Union([Type.String(), Type.Null()]),
  last_status_code: Type.Union([Type.Integer(), Type.Null()]),
  response: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
  payload: Type.Record(Type.String(), Type.Unknown()),
  created_at: Type.String({ format: 'date-time' }),
  delivered_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

const toNotificationJson = (row: OutboxRow) => ({
  id: row.id, channel: row.channel, kind: row.kind, status: row.status, severity: row.severity, alert_id: row.alert_id, group_key: row.group_key,
  title: `${row.payload.reason}: ${row.payload.alerts.map((alert) => alert.name).join(', ')}`.slice(0, 500), attempts: row.attempts,
  next_attempt_at: row.next_attempt_at.toISOString(), last_error: row.last_error, last_status_code: row.last_status_code, response: row.response,
  payload: { ...row.payload }, created_at: row.created_at.toISOString(), delivered_at: row.delivered_at === null ? null : row.delivered_at.toISOString(),
});

export function alertsRoutes(container: Container) {
  const { db, alerting } = container;
  // Active alerts and the history are one listing: the history also shows resolved alerts.
  const alertPage = async (tenantId: string, filter: AlertFilter) => {
    const result = await db.withTenant(tenantId, (tx) => listAlerts(tx, tenantId, filter));
    return { data: result.rows.map(toAlertJson), pagination: { limit: filter.limit, offset: filter.offset, total: result.total } };
  };
  return async (app: App) => {
    app.get(
      '/api/v1/monitoring/alerts',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['alerts'],
          summary: 'Active (unresolved) alerts, newest first',
          querystring: Type.Object({
            ...AlertListQuery,
            status: Type.Optional(literals(['pending', 'firing'] as const)),
            type: Type.Optional(Type.String({ maxLength: 100 })),
            acknowledged: Type.Optional(Type.Boolean()),
          }),
          response: { 200: OffsetPageSchema(AlertSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        return alertPage(principalOf(request).tenantId, { severity: q.severity, status: q.status, service: q.service, type: q.type, acknowledged: q.acknowledged, ruleId: q.rule_id, openOnly: true, limit: q.limit, offset: q.offset });
      },
    );

    app.get(
      '/api/v1/monitoring/alerts/history',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['alerts'],
          summary: 'Every alert (open and resolved), newest first, paginated',
          querystring: Type.Object({
            ...AlertListQuery,
            status: Type.Optional(literals(['pending', 'firing', 'resolved'] as const)),
            from: Type.Optional(Type.String({ format: 'date-time' })),
            to: Type.Optional(Type.String({ format: 'date-time' })),
          }),
          response: { 200: OffsetPageSchema(AlertSchema) },
        },
      },
      async (request) => {
        const q = request.query;
        return alertPage(principalOf(request).tenantId, { severity: q.severity, status: q.status, service: q.service, ruleId: q.rule_id, from: q.from, to: q.to, openOnly: false, limit: q.limit, offset: q.offset });
      },
    );

    app.get(
      '/api/v1/monitoring/alerts/notifications',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['alerts'],
          summary: 'Notification delivery records (the outbox); status=dead lists dead letters',
          querystring: Type.Object({
            status: Type.Optional(literals(['pending', 'sending', 'delivered', 'dead', 'not_configured'] as const)),
            channel: Type.Optional(literals(CHANNELS)),
            alert_id: Type.Optional(Type.String({ format: 'uuid' })),
            ...OffsetPageQuery,
          }),
          response: { 200: OffsetPageSchema(NotificationSchema) },
        },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        const q = request.query;
        const result = await db.withTenant(tenantId, (tx) => listOutbox(tx, tenantId, { status: q.status, channel: q.channel, alertId: q.alert_id, limit: q.limit, offset: q.offset }));
        return { data: result.rows.map(toNotificationJson), pagination: { limit: q.limit, offset: q.offset, total: result.total } };
      },
    );

    app.post(
      '/api/v1/monitoring/alerts/notifications/:id/retry',
      {
        preHandler: container.auth.require(ADMIN),
        schema: { tags: ['alerts'], summary: 'Re-queue a dead-lettered notification', params: IdParams, response: { 200: Type.Object({ data: NotificationSchema }) } },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        const row = await db.withTenant(tenantId, async (tx) => {
          const requeued = await requeueDead(tx, tenantId, request.params.id, container.clock.now());
          if (requeued !== undefined) return requeued;
          const exists = await tx.query('SELECT status FROM notification_outbox WHERE tenant_id = $1 AND id = $2', [tenantId, request.params.id]);
          if (exists.rowCount === 0) throw new NotFoundError('Notification', request.params.id);
          throw new ConflictError('Only dead-lettered notifications can be retried', { id: request.params.id });
        });
        return { data: toNotificationJson(row) };
      },
    );

    app.get(
      '/api/v1/monitoring/alerts/:id',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['alerts'],
          summary: 'One alert with its history, escalation state and notifications',
          params: IdParams,
          response: {
            200: Type.Object({
              data: AlertSchema,
              events: Type.Array(Type.Object({ kind: Type.String(), actor: Type.Union([Type.String(), Type.Null()]), details: Type.Record(Type.String(), Type.Unknown()), at: Type.String({ format: 'date-time' }) })),
              escalation: Type.Union([
                Type.Object({ status: Type.String(), level: Type.Integer(), cycle: Type.Integer(), next_at: Type.String({ format: 'date-time' }), stop_reason: Type.Union([Type.String(), Type.Null()]), started_at: Type.String({ format: 'date-time' }) }),
                Type.Null(),
              ]),
              notifications: Type.Array(NotificationSchema),
            }),
          },
        },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        const { id } = request.params;
        return db.withTenant(tenantId, async (tx) => {
          const alert = await getAlert(tx, tenantId, id);
          if (alert === undefined) throw new NotFoundError('Alert', id);
          const events = await alertEvents(tx, tenantId, id);
          const escalation = await escalationOf(tx, tenantId, id);
          const notifications = await listOutbox(tx, tenantId, { alertId: id, limit: 100, offset: 0 });
          return {
            data: toAlertJson(alert),
            events: events.map((event) => ({ kind: event.kind, actor: event.actor, details: event.details, at: event.at.toISOString() })),
            escalation: escalation === undefined ? null : { ...escalation, next_at: escalation.next_at.toISOString(), started_at: escalation.started_at.toISOString() },
            notifications: notifications.rows.map(toNotificationJson),
          };
        });
      },
    );

    app.post(
      '/api/v1/monitoring/alerts/:id/acknowledge',
      {
        preHandler: container.auth.require(ACT),
        schema: { tags: ['alerts'], summary: 'Acknowledge (idempotent; stops escalation; does not silence)', params: IdParams, body: ActionBody, response: { 200: Type.Object({ data: AlertSchema }) } },
      },
      async (request) => {
        const principal = principalOf(request);
        const alert = await alerting.acknowledge(principal.tenantId, request.params.id, actorOf(principal), request.body?.comment);
        return { data: toAlertJson(alert) };
      },
    );

    app.post(
      '/api/v1/monitoring/alerts/:id/resolve',
      {
        preHandler: container.auth.require(ACT),
        schema: { tags: ['alerts'], summary: 'Resolve by hand (idempotent)', params: IdParams, body: ActionBody, response: { 200: Type.Object({ data: AlertSchema }) } },
      },
      async (request) => {
        const principal = principalOf(request);
        const alert = await alerting.resolve(principal.tenantId, request.params.id, actorOf(principal), request.body?.comment);
        return { data: toAlertJson(alert) };
      },
    );
  };
}
