import { Type } from '@sinclair/typebox';
import type { Container } from '../../container.js';
import { principalOf, READ } from '../../auth/index.js';
import type { App } from '../../platform/http/types.js';
import { METRIC_NAME_PATTERN, seriesKeyOf } from '../../metrics/sample.js';

const AnomalySchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  series_key: Type.String(),
  metric_name: Type.String(),
  service_name: Type.String(),
  labels: Type.Record(Type.String(), Type.String()),
  timestamp: Type.String({ format: 'date-time' }),
  value: Type.Number(),
  score: Type.Number({ minimum: 0, maximum: 1 }),
  robust_score: Type.Number(),
  model_score: Type.Union([Type.Number(), Type.Null()]),
  model_version: Type.Union([Type.Integer(), Type.Null()]),
  detector: Type.Union([Type.Literal('robust'), Type.Literal('autoencoder')]),
});

const SeriesBody = Type.Object(
  {
    metric_name: Type.String({ pattern: METRIC_NAME_PATTERN, maxLength: 200 }),
    service_name: Type.String({ minLength: 1, maxLength: 100 }),
    labels: Type.Optional(Type.Record(Type.String(), Type.String())),
  },
  { additionalProperties: false },
);

const Scorer = Type.Union([Type.Literal('robust'), Type.Literal('robust+autoencoder')]);
const ScorerQuality = Type.Object({ detection_rate: Type.Number(), false_alarm_rate: Type.Number() });

const TrainedSchema = Type.Object({
  series_key: Type.String(),
  version: Type.Integer(),
  samples: Type.Integer(),
  windows: Type.Integer(),
  initial_loss: Type.Number(),
  final_loss: Type.Number(),
  attempts: Type.Integer(),
  error_p99: Type.Number(),
  backtest: Type.Object({
    held_out: Type.Integer(),
    injected: Type.Integer(),
    spike_size: Type.Number(),
    robust: ScorerQuality,
    combined: ScorerQuality,
    served_by: Scorer,
  }),
  served_by: Scorer,
});

const ModelSchema = Type.Object({
  kind: Type.String(),
  model_key: Type.String(),
  version: Type.Integer(),
  params: Type.Record(Type.String(), Type.Unknown()),
  metrics: Type.Record(Type.String(), Type.Unknown()),
  trained_at: Type.String({ format: 'date-time' }),
});

export function anomalyRoutes(container: Container) {
  return async (app: App) => {
    app.get(
      '/api/v1/analytics/anomalies',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['analytics'],
          summary: "A series' anomalies (or all of the tenant's), newest first",
          querystring: Type.Object({
            metric_name: Type.Optional(Type.String({ pattern: METRIC_NAME_PATTERN })),
            service_name: Type.Optional(Type.String({ minLength: 1 })),
            series_key: Type.Optional(Type.String({ minLength: 1 })),
            from: Type.Optional(Type.String({ format: 'date-time' })),
            to: Type.Optional(Type.String({ format: 'date-time' })),
            limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          }),
          response: { 200: Type.Object({ data: Type.Array(AnomalySchema) }) },
        },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        const q = request.query;
        const rows = await container.ml.anomalies.list(tenantId, {
          metricName: q.metric_name,
          serviceName: q.service_name,
          seriesKey: q.series_key,
          from: q.from === undefined ? undefined : new Date(q.from),
          to: q.to === undefined ? undefined : new Date(q.to),
          limit: q.limit,
        });
        return { data: rows.map((row) => ({ ...row, timestamp: row.timestamp.toISOString() })) };
      },
    );

    app.post(
      '/api/v1/analytics/anomalies/models',
      {
        preHandler: container.auth.require({ roles: ['admin'], services: false }),
        schema: {
          tags: ['analytics'],
          summary: "Train a series' autoencoder now on its last days (in the training worker) and store a new version",
          body: SeriesBody,
          response: { 201: TrainedSchema },
        },
      },
      async (request, reply) => {
        const { tenantId } = principalOf(request);
        const body = request.body;
        const trained = await container.ml.anomalies.trainSeries(tenantId, seriesKeyOf(body.metric_name, body.service_name, body.labels ?? {}));
        return reply.status(201).send(trained);
      },
    );

    app.get(
      '/api/v1/analytics/models',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['analytics'],
          summary: "Stored model versions of the tenant (autoencoders, fraud network, sellout LSTM)",
          response: { 200: Type.Object({ data: Type.Array(ModelSchema) }) },
        },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        const models = await container.ml.models.list(tenantId);
        return { data: models.map((model) => ({ kind: model.kind, model_key: model.key, version: model.version, params: model.params, metrics: model.metrics, trained_at: model.trainedAt.toISOString() })) };
      },
    );
  };
}
