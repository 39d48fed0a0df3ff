import { Type } from '@sinclair/typebox';
import type { Container } from '../../container.js';
import { principalOf, READ } from '../../auth/index.js';
import { NotFoundError } from '../../errors.js';
import { METRIC_NAME_PATTERN } from '../../metrics/sample.js';
import type { App } from '../../platform/http/types.js';
import { NonFiniteFieldsSchema } from '../../platform/non-finite.js';

/** Numbers past the double range (forecasts of huge values) are null and named in `non_finite` (docs/metrics.md). */
const FiniteOrNull = Type.Union([Type.Number(), Type.Null()]);
const PointSchema = Type.Object({ timestamp: Type.String({ format: 'date-time' }), value: FiniteOrNull, lower: FiniteOrNull, upper: FiniteOrNull, non_finite: NonFiniteFieldsSchema });

const ForecastSchema = Type.Object({
  metric_name: Type.String(),
  service_name: Type.Union([Type.String(), Type.Null()]),
  method: Type.Union([Type.Literal('moving-average'), Type.Literal('linear-trend'), Type.Literal('holt-winters')]),
  step_seconds: Type.Number(),
  season_length: Type.Union([Type.Integer(), Type.Null()]),
  confidence: Type.Number(),
  history_points: Type.Integer(),
  skipped_points: Type.Optional(Type.Integer({ description: 'history buckets left out because their value was not finite (a sum past the double range)' })),
  residual_std: FiniteOrNull,
  params: Type.Record(Type.String(), FiniteOrNull),
  last_observed_at: Type.String({ format: 'date-time' }),
  points: Type.Array(PointSchema),
  backtest: Type.Union([
    Type.Object({ held_out: Type.Integer(), mae: Type.Record(Type.String(), FiniteOrNull, { description: 'mean absolute error of each candidate method on the held-out newest points' }) }),
    Type.Null(),
  ]),
  non_finite: NonFiniteFieldsSchema,
});

const FactorSchema = Type.Object({
  factor: Type.String(),
  value: Type.Union([Type.Number(), Type.Null()]),
  score: Type.Union([Type.Number(), Type.Null()]),
  weight: Type.Number(),
  contribution: Type.Number(),
  detail: Type.String(),
});

export function forecastRoutes(container: Container) {
  const forecasts = container.ml.forecasts;
  return async (app: App) => {
    app.get(
      '/api/v1/analytics/forecast',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['analytics'],
          summary: 'Forecast of a stored series (moving average, linear trend or Holt-Winters) with prediction intervals',
          querystring: Type.Object({
            metric_name: Type.String({ pattern: METRIC_NAME_PATTERN, maxLength: 200 }),
            service_name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            horizon_minutes: Type.Integer({ minimum: 1, maximum: 43_200, default: 60 }),
            step_seconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 60 }),
            history_hours: Type.Integer({ minimum: 1, maximum: 2_160, default: 24 }),
            method: Type.Union([Type.Literal('auto'), Type.Literal('moving-average'), Type.Literal('linear-trend'), Type.Literal('holt-winters')], { default: 'auto' }),
            season_length: Type.Optional(Type.Integer({ minimum: 2, maximum: 2_500, description: 'season in steps; detected from the autocorrelation when absent' })),
            window: Type.Integer({ minimum: 2, maximum: 5_000, default: 30, description: 'points of the moving average / trend window' }),
            confidence: Type.Union([Type.Literal(0.8), Type.Literal(0.9), Type.Literal(0.95), Type.Literal(0.99)], { default: 0.95 }),
            aggregation: Type.Union([Type.Literal('avg'), Type.Literal('sum')], { default: 'avg', description: 'how label sets of the metric are combined per step' }),
          }),
          response: { 200: ForecastSchema },
        },
      },
      async (request) => {
        const q = request.query;
        return forecasts.forecast(principalOf(request).tenantId, {
          metricName: q.metric_name,
          serviceName: q.service_name,
          horizonMinutes: q.horizon_minutes,
          stepSeconds: q.step_seconds,
          historyHours: q.history_hours,
          method: q.method,
          seasonLength: q.season_length,
          window: q.window,
          confidence: q.confidence,
          aggregation: q.aggregation,
        });
      },
    );

    app.get(
      '/api/v1/analytics/failure-risk',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['analytics'],
          summary: 'System-failure risk of a service in [0,1] from service_up, error rate, latency p95, cpu and memory, with the factors',
          querystring: Type.Object({ service_name: Type.String({ minLength: 1, maxLength: 100 }) }),
          response: {
            200: Type.Object({
              service_name: Type.String(),
              window_minutes: Type.Number(),
              risk: Type.Number({ minimum: 0, maximum: 1 }),
              level: Type.String(),
              factors_with_data: Type.Integer(),
              factors: Type.Array(FactorSchema),
              computed_at: Type.String({ format: 'date-time' }),
            }),
          },
        },
      },
      async (request) => {
        const scored = await forecasts.failureRisk(principalOf(request).tenantId, request.query.service_name);
        if (scored.factors_with_data === 0) throw new NotFoundError('Risk metrics of service', request.query.service_name);
        return scored;
      },
    );
  };
}
