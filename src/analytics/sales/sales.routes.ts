import { Type } from '@sinclair/typebox';
import type { Container } from '../../container.js';
import { principalOf, READ } from '../../auth/index.js';
import type { App } from '../../platform/http/types.js';
import { SelloutModelSummarySchema } from './sellout-model.js';

const TrackBody = Type.Object(
  {
    sale_id: Type.String({ minLength: 1, maxLength: 200 }),
    event_id: Type.String({ minLength: 1, maxLength: 200 }),
    tickets: Type.Integer({ minimum: 1, maximum: 100_000 }),
    amount_cents: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    currency: Type.String({ pattern: '^[A-Z]{3}$' }),
    channel: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
    sold_at: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Number> | ReturnType<typeof Type.Boolean>>(schema: T) => Type.Union([schema, Type.Null()]);

const PredictionSchema = Type.Object({
  method: Type.Union([Type.Literal('recent-rate'), Type.Literal('lstm')]),
  model_version: Type.Optional(Type.Integer()),
  hours: Nullable(Type.Number()),
  sellout_at: Nullable(Type.String()),
  earliest_at: Nullable(Type.String()),
  latest_at: Nullable(Type.String()),
  before_start: Nullable(Type.Boolean()),
});

const ReportSchema = Type.Object({
  event_id: Type.String(),
  event_name: Type.String(),
  status: Type.String(),
  capacity: Type.Integer(),
  sold: Type.Integer(),
  remaining: Type.Integer(),
  orders: Type.Integer(),
  revenue_cents: Type.Record(Type.String(), Type.Integer()),
  velocity_per_minute: Type.Number(),
  velocity_per_hour: Type.Number(),
  trend: Type.String(),
  starts_at: Type.String(),
  prediction: PredictionSchema,
  predictions: Type.Object({ baseline: PredictionSchema, lstm: Type.Union([PredictionSchema, Type.Null()]) }),
  served_by: Type.Union([Type.Literal('lstm'), Type.Literal('baseline')]),
  lstm_unavailable: Type.Optional(Type.String({ description: 'why a trained LSTM gave no prediction; the baseline served' })),
  computed_at: Type.String(),
});

export function salesRoutes(container: Container) {
  const sales = container.analytics.sales;
  return async (app: App) => {
    app.post(
      '/api/v1/analytics/sales/track',
      {
        preHandler: container.auth.require({ roles: ['admin'], services: true }),
        schema: {
          tags: ['analytics'],
          summary: 'Record a sale (idempotent on sale_id); the event must exist in the event service',
          body: TrackBody,
          response: { 200: Type.Object({ recorded: Type.Boolean(), sale_id: Type.String() }), 201: Type.Object({ recorded: Type.Boolean(), sale_id: Type.String() }) },
        },
      },
      async (request, reply) => {
        const result = await sales.track(principalOf(request).tenantId, request.body);
        return reply.status(result.recorded ? 201 : 200).send(result);
      },
    );

    app.get(
      '/api/v1/analytics/sales/:eventId',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['analytics'],
          summary: 'Sold, remaining, revenue, velocity, trend and the predicted sellout time of an event',
          params: Type.Object({ eventId: Type.String({ minLength: 1, maxLength: 200 }) }),
          response: { 200: ReportSchema },
        },
      },
      async (request) => sales.report(principalOf(request).tenantId, request.params.eventId),
    );

    app.post(
      '/api/v1/analytics/sellout-model/train',
      {
        preHandler: container.auth.require({ roles: ['admin'], services: false }),
        schema: {
          tags: ['analytics'],
          summary: "Train this tenant's LSTM sellout model now on its sold-out events (in the training worker); the backtest decides whether it serves",
          response: { 201: SelloutModelSummarySchema },
        },
      },
      async (request, reply) => reply.status(201).send(await container.analytics.sellout.train(principalOf(request).tenantId)),
    );

    app.get(
      '/api/v1/analytics/sellout-model',
      {
        preHandler: container.auth.require(READ),
        schema: { tags: ['analytics'], summary: "The tenant's latest sellout model: backtest errors (LSTM and baseline) and which one serves", response: { 200: Type.Union([SelloutModelSummarySchema, Type.Null()]) } },
      },
      async (request) => container.analytics.sellout.summary(principalOf(request).tenantId),
    );

    app.get(
      '/api/v1/analytics/dashboard',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['analytics'],
          summary: 'Sales and fraud of the tenant over the last hours',
          querystring: Type.Object({ hours: Type.Integer({ minimum: 1, maximum: 720, default: 24 }) }),
          response: {
            200: Type.Object({
              hours: Type.Integer(),
              sales: Type.Object({ tickets: Type.Integer(), orders: Type.Integer(), events: Type.Integer(), revenue_cents: Type.Record(Type.String(), Type.Integer()) }),
              fraud: Type.Object({ total: Type.Integer(), by_pattern: Type.Record(Type.String(), Type.Integer()), by_risk_level: Type.Record(Type.String(), Type.Integer()), open: Type.Integer(), precision: Type.Union([Type.Number(), Type.Null()]) }),
            }),
          },
        },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        const hours = request.query.hours;
        const [sold, fraud] = await Promise.all([sales.summary(tenantId, hours), container.analytics.fraud.metrics(tenantId, hours)]);
        return {
          hours,
          sales: { tickets: sold.tickets, orders: sold.orders, events: sold.events, revenue_cents: sold.revenue },
          fraud: { total: fraud.total, by_pattern: fraud.by_pattern, by_risk_level: fraud.by_risk_level, open: fraud.open, precision: fraud.precision },
        };
      },
    );
  };
}
