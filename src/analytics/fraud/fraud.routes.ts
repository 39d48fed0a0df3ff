import { Type } from '@sinclair/typebox';
import type { Container } from '../../container.js';
import { actorOf, principalOf, READ } from '../../auth/index.js';
import type { App } from '../../platform/http/types.js';
import { FraudSignalsSchema } from './fraud-rules.js';
import type { FraudEventRow } from './fraud.repository.js';

const RiskLevel = Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high'), Type.Literal('critical')]);

const Scorer = Type.Union([Type.Literal('rules'), Type.Literal('rules+network')]);
const Ratio = Type.Union([Type.Number(), Type.Null()]);
const FlagQuality = Type.Object({ accuracy: Ratio, precision: Ratio, recall: Ratio });

const CheckResultSchema = Type.Object({
  risk_score: Type.Number({ minimum: 0, maximum: 100 }),
  risk_level: RiskLevel,
  pattern: Type.String(),
  reasons: Type.Array(Type.Object({ indicator: Type.String(), pattern: Type.String(), weight: Type.Integer(), detail: Type.String() })),
  rule_score: Type.Number(),
  model_score: Type.Union([Type.Number(), Type.Null()]),
  model_version: Type.Union([Type.Integer(), Type.Null()]),
  served_by: Scorer,
  vpn: Type.Boolean(),
  datacenter: Type.Boolean(),
  stored: Type.Boolean(),
  event_id: Type.Union([Type.String(), Type.Null()]),
});

const EventSchema = Type.Object({
  id: Type.String(),
  user_id: Type.String(),
  pattern: Type.String(),
  risk_level: RiskLevel,
  risk_score: Type.Number(),
  data: Type.Record(Type.String(), Type.Unknown()),
  investigated: Type.Boolean(),
  investigation_outcome: Type.Union([Type.Literal('confirmed'), Type.Literal('false_positive'), Type.Null()]),
  investigated_by: Type.Union([Type.String(), Type.Null()]),
  investigated_at: Type.Union([Type.String(), Type.Null()]),
  timestamp: Type.String({ format: 'date-time' }),
});

const ModelSummarySchema = Type.Object({
  version: Type.Integer(),
  examples: Type.Integer(),
  confirmed: Type.Integer(),
  false_positives: Type.Integer(),
  initial_loss: Type.Number(),
  final_loss: Type.Number(),
  attempts: Type.Integer(),
  backtest: Type.Object({ holdout: Type.Integer(), rules: FlagQuality, network: FlagQuality, served_by: Scorer }),
});

const MetricsSchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  bucket: Type.String(),
  total: Type.Integer(),
  by_pattern: Type.Record(Type.String(), Type.Integer()),
  by_risk_level: Type.Record(Type.String(), Type.Integer()),
  series: Type.Array(Type.Object({ bucket: Type.String(), pattern: Type.String(), risk_level: Type.String(), count: Type.Integer() })),
  investigated: Type.Integer(),
  confirmed: Type.Integer(),
  false_positives: Type.Integer(),
  open: Type.Integer(),
  precision: Type.Union([Type.Number(), Type.Null()]),
  model: Type.Union([Type.Object({ version: Type.Integer(), trained_at: Type.String(), metrics: Type.Record(Type.String(), Type.Unknown()) }), Type.Null()]),
});

const eventJson = (row: FraudEventRow) => ({ ...row, investigated_at: row.investigated_at?.toISOString() ?? null, timestamp: row.timestamp.toISOString() });

export function fraudRoutes(container: Container) {
  const fraud = container.analytics.fraud;
  return async (app: App) => {
    app.post(
      '/api/v1/analytics/fraud/check',
      {
        preHandler: container.auth.require({ roles: ['admin'], services: true }),
        schema: { tags: ['analytics'], summary: 'Risk score, level and reasons for the signals of one request; high risk is stored, published and alerted', body: FraudSignalsSchema, response: { 200: CheckResultSchema } },
      },
      async (request) => fraud.check(principalOf(request).tenantId, request.body),
    );

    app.get(
      '/api/v1/analytics/fraud/events',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['analytics'],
          summary: 'Stored fraud events, newest first',
          querystring: Type.Object({ investigated: Type.Optional(Type.Boolean()), pattern: Type.Optional(Type.String({ minLength: 1 })), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) }),
          response: { 200: Type.Object({ data: Type.Array(EventSchema) }) },
        },
      },
      async (request) => {
        const rows = await fraud.list(principalOf(request).tenantId, request.query);
        return { data: rows.map(eventJson) };
      },
    );

    app.post(
      '/api/v1/analytics/fraud/events/:id/investigation',
      {
        preHandler: container.auth.require({ roles: ['admin', 'operator'], services: false }),
        schema: {
          tags: ['analytics'],
          summary: 'Record the outcome of an investigation (the labels the fraud network learns from)',
          params: Type.Object({ id: Type.String({ format: 'uuid' }) }),
          body: Type.Object({ outcome: Type.Union([Type.Literal('confirmed'), Type.Literal('false_positive')]) }, { additionalProperties: false }),
          response: { 200: EventSchema },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        return eventJson(await fraud.investigate(principal.tenantId, request.params.id, request.body.outcome, actorOf(principal)));
      },
    );

    app.post(
      '/api/v1/analytics/fraud/model',
      {
        preHandler: container.auth.require({ roles: ['admin'], services: false }),
        schema: { tags: ['analytics'], summary: "Train this tenant's fraud network now on its investigated events (in the training worker)", response: { 201: ModelSummarySchema } },
      },
      async (request, reply) => reply.status(201).send(await fraud.train(principalOf(request).tenantId)),
    );

    app.get(
      '/api/v1/analytics/fraud/metrics',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['analytics'],
          summary: 'Fraud events by pattern and risk level over time, investigation precision, model in use',
          querystring: Type.Object({ hours: Type.Integer({ minimum: 1, maximum: 8760, default: 24 }) }),
          response: { 200: MetricsSchema },
        },
      },
      async (request) => fraud.metrics(principalOf(request).tenantId, request.query.hours),
    );
  };
}
