import type { SampleSource } from '../../metrics/index.js';
import { AppError, ValidationError } from '../../errors.js';
import { querySeries } from '../../metrics/series.query.js';
import type { Clock } from '../../platform/clock.js';
import type { Db } from '../../platform/db/index.js';
import { finiteMean, finiteSum } from '../../platform/db/finite-aggregates.js';
import { finiteOrNull, nonFiniteMember, type NonFiniteFields } from '../../platform/non-finite.js';
import { failureRisk, type RiskSignals } from './failure-risk.js';
import { evenlySpaced, forecast, type ForecastMethod } from './forecasting.js';
import { latencyForecast } from './latency-forecast.js';

export interface ForecastRequest {
  metricName: string;
  serviceName?: string;
  horizonMinutes: number;
  stepSeconds: number;
  historyHours: number;
  method: ForecastMethod | 'auto';
  seasonLength?: number;
  window: number;
  confidence: number;
  aggregation: 'avg' | 'sum';
}

export interface ForecastResponse {
  metric_name: string;
  service_name: string | null;
  method: ForecastMethod;
  step_seconds: number;
  season_length: number | null;
  confidence: number;
  history_points: number;
  /** History buckets left out because their value was not finite (a sum past the double range). */
  skipped_points?: number;
  /** Numbers past the double range are null here and named in `non_finite` (docs/metrics.md). */
  residual_std: number | null;
  params: Record<string, number | null>;
  last_observed_at: string;
  points: Array<{ timestamp: string; value: number | null; lower: number | null; upper: number | null; non_finite?: NonFiniteFields }>;
  /** How `auto` chose: each candidate's error on the newest points (null when a method was asked for). */
  backtest: { held_out: number; mae: Record<string, number | null> } | null;
  non_finite?: NonFiniteFields;
}

/** Forecast parameters in the unit of the values (the others are counts and smoothing factors). */
const SCALED_PARAMS = new Set(['level', 'trend', 'slope_per_step']);

/** A bucket's label sets as one value; the mean of huge values divides before adding, so it stays finite. */
function combine(values: readonly number[], aggregation: 'avg' | 'sum'): number {
  const total = values.reduce((s, v) => s + v, 0);
  if (aggregation === 'sum' || Number.isFinite(total)) return aggregation === 'sum' ? total : total / values.length;
  return values.reduce((s, v) => s + v / values.length, 0);
}

/** 1 for ordinary values; for values past 1e100, the power of two at the largest magnitude. */
function scaleOf(values: readonly number[]): number {
  const peak = values.reduce((max, v) => Math.max(max, Math.abs(v)), 0);
  return peak > 1e100 ? 2 ** Math.floor(Math.log2(peak)) : 1;
}

/** Most points a forecast reads or produces: bounds the work of one request. */
export const MAX_HISTORY_POINTS = 5_000;
export const MAX_HORIZON_POINTS = 1_000;
const MINUTE = 60_000;

/** Sums and means of one risk metric's samples that never raise (finite-aggregates.ts). */
const of = (metric: string) => ({ value: 'value', where: `metric_name = '${metric}'` });
const meanOf = (metric: string) => finiteMean(of(metric), `count(value) FILTER (WHERE metric_name = '${metric}')`);

const RISK_METRICS = ['service_up', 'http_request_count', 'http_server_error_count', 'http_response_time_p95_ms', 'http_response_time_ms', 'system_cpu_usage_percent', 'system_memory_usage_percent'];

/** Forecasts of stored series and the failure risk of a service, read from the `metrics` table (or its rollups for long ranges). */
export function createForecastService(deps: { db: Db; clock: Clock; rawMaxRangeMs: number; latencyTargetMs: number; riskWindowMs: number; samples: SampleSource }) {
  const run = async (tenantId: string, request: ForecastRequest): Promise<ForecastResponse> => {
    const stepMs = request.stepSeconds * 1000;
    const horizon = Math.floor((request.horizonMinutes * MINUTE) / stepMs);
    if (horizon < 1) throw new ValidationError('horizon_minutes must cover at least one step', { horizon_minutes: request.horizonMinutes, step_seconds: request.stepSeconds });
    if (horizon > MAX_HORIZON_POINTS) throw new ValidationError(`horizon_minutes / step gives more than ${MAX_HORIZON_POINTS} points`, { horizon_minutes: request.horizonMinutes, step_seconds: request.stepSeconds });
    const historyMs = request.historyHours * 60 * MINUTE;
    if (historyMs / stepMs > MAX_HISTORY_POINTS) throw new ValidationError(`history_hours / step gives more than ${MAX_HISTORY_POINTS} points`, { history_hours: request.historyHours, step_seconds: request.stepSeconds });
    const now = deps.clock.nowMs();
    const result = await deps.db.withTenant(tenantId, (tx) =>
      querySeries(tx, tenantId, { name: request.metricName, service: request.serviceName, matchers: [], from: new Date(now - historyMs), to: new Date(now + 1), bucketMs: stepMs, aggregation: request.aggregation }, deps.rawMaxRangeMs, deps.samples),
    );
    if (result.series.length === 0) {
      throw new AppError('UNKNOWN_METRIC', `No samples of ${request.metricName}${request.serviceName === undefined ? '' : ` from ${request.serviceName}`} in the last ${request.historyHours} h`, { details: { metric_name: request.metricName, service_name: request.serviceName ?? null } });
    }
    // Several label sets of one metric are combined per bucket (mean or sum). A bucket whose value
    // is not finite (a sum past the double range) is left out, like a bucket without samples.
    const buckets = new Map<number, number[]>();
    for (const series of result.series) for (const [value, at] of series.points) buckets.set(at, [...(buckets.get(at) ?? []), value]);
    const combined = [...buckets.entries()].map(([at, values]): [number, number] => [combine(values, request.aggregation), at]);
    const finite = combined.filter(([value]) => Number.isFinite(value));
    const skipped = combined.length - finite.length;
    // The methods are linear in the data: huge values are forecast scaled down by a power of two
    // (exact), so that no intermediate square or difference overflows, and scaled back.
    const scale = scaleOf(finite.map(([value]) => value));
    const { values, lastMs } = evenlySpaced(scale === 1 ? finite : finite.map(([value, at]): [number, number] => [value / scale, at]), result.bucketMs);
    if (values.length < 3) throw new AppError('INSUFFICIENT_HISTORY', `${request.metricName} has ${values.length} points at this step; a forecast needs 3`, { details: { points: values.length, ...(skipped > 0 ? { skipped_points: skipped } : {}) } });
    if (request.method === 'holt-winters') {
      const season = request.seasonLength;
      if (season !== undefined && values.length < 2 * season + 1) throw new AppError('INSUFFICIENT_HISTORY', `Holt-Winters with a season of ${season} steps needs ${2 * season + 1} points, ${values.length} stored`, { details: { points: values.length, season_length: season } });
    }
    const result2 = forecast(values, { horizon: Math.floor((request.horizonMinutes * MINUTE) / result.bucketMs) || 1, method: request.method, window: request.window, seasonLength: request.seasonLength, confidence: request.confidence });
    if (request.method === 'holt-winters' && result2.method !== 'holt-winters') throw new AppError('INSUFFICIENT_HISTORY', 'No seasonality found in the history; give season_length or use another method', { details: { points: values.length } });
    const flags: NonFiniteFields = {};
    const scaled = (value: number, field: string) => finiteOrNull(value * scale, field, flags);
    const backtest = result2.backtest;
    return {
      metric_name: request.metricName,
      service_name: request.serviceName ?? null,
      method: result2.method,
      step_seconds: result.bucketMs / 1000,
      season_length: result2.seasonLength,
      confidence: request.confidence,
      history_points: values.length,
      ...(skipped > 0 ? { skipped_points: skipped } : {}),
      residual_std: scaled(result2.residualStd, 'residual_std'),
      params: Object.fromEntries(Object.entries(result2.params).map(([name, value]) => [name, SCALED_PARAMS.has(name) ? scaled(value, `params.${name}`) : value])),
      last_observed_at: new Date(lastMs).toISOString(),
      points: result2.points.map((p) => {
        const point: NonFiniteFields = {};
        const [value, lower, upper] = [finiteOrNull(p.value * scale, 'value', point), finiteOrNull(p.lower * scale, 'lower', point), finiteOrNull(p.upper * scale, 'upper', point)];
        return { timestamp: new Date(lastMs + p.step * result.bucketMs).toISOString(), value, lower, upper, ...nonFiniteMember(point) };
      }),
      backtest: backtest === undefined ? null : { held_out: backtest.held_out, mae: Object.fromEntries(Object.entries(backtest.mae).map(([method, error]) => [method, scaled(error, `backtest.mae.${method}`)])) },
      ...nonFiniteMember(flags),
    };
  };

  /** Every signal of the window in one scan of the service's rows. */
  const signalsOf = async (tenantId: string, service: string): Promise<RiskSignals> => {
    const since = new Date(deps.clock.nowMs() - deps.riskWindowMs);
    const until = new Date(deps.clock.nowMs() + 1);
    const result = await deps.db.withTenant(tenantId, async (tx) => {
      const params: unknown[] = [tenantId, service, since, until, RISK_METRICS];
      const samples = await deps.samples.from(tx, tenantId, { names: RISK_METRICS, service, from: since, to: until }, params);
      return tx.query<{ down: string; total: string; latest: number | null; requests: number | null; errors: number | null; p95: number | null; response_time: number | null; cpu: number | null; memory: number | null }>(
        `SELECT count(*) FILTER (WHERE metric_name = 'service_up' AND value = 0) AS down,
                count(*) FILTER (WHERE metric_name = 'service_up') AS total,
                (array_agg(value ORDER BY "timestamp" DESC) FILTER (WHERE metric_name = 'service_up'))[1] AS latest,
                ${finiteSum(of('http_request_count'))} AS requests,
                ${finiteSum(of('http_server_error_count'))} AS errors,
                ${meanOf('http_response_time_p95_ms')} AS p95,
                ${meanOf('http_response_time_ms')} AS response_time,
                ${meanOf('system_cpu_usage_percent')} AS cpu,
                ${meanOf('system_memory_usage_percent')} AS memory
         FROM ${samples} m WHERE tenant_id = $1 AND service_name = $2 AND "timestamp" >= $3 AND "timestamp" < $4 AND metric_name = ANY($5::text[])`,
        params,
      );
    });
    const row = result.rows[0];
    // A sum past the double range is no usable signal: like a signal without samples.
    const num = (value: number | string | null | undefined) => (value === null || value === undefined || !Number.isFinite(Number(value)) ? null : Number(value));
    const total = Number(row?.total ?? 0);
    const latest = num(row?.latest);
    const requests = num(row?.requests);
    const errorRate = requests === null || requests <= 0 ? null : Number(row?.errors ?? 0) / requests;
    return {
      serviceUp: total === 0 || latest === null ? null : { downShare: Number(row?.down ?? 0) / total, latest },
      errorRate: errorRate === null || !Number.isFinite(errorRate) ? null : errorRate,
      latencyP95Ms: num(row?.p95) ?? num(row?.response_time),
      cpuPercent: num(row?.cpu),
      memoryPercent: num(row?.memory),
    };
  };

  return {
    forecast: run,
    /** The performance dashboard's forecast of each service's p95 over the dashboard range. */
    latency: (tenantId: string, range: { from: Date; to: Date }) => latencyForecast(deps.db, tenantId, range),
    async failureRisk(tenantId: string, service: string) {
      const signals = await signalsOf(tenantId, service);
      const scored = failureRisk(signals, deps.latencyTargetMs);
      const known = scored.factors.filter((f) => f.score !== null).length;
      return { service_name: service, window_minutes: deps.riskWindowMs / MINUTE, risk: scored.risk, level: scored.level, factors_with_data: known, factors: scored.factors, computed_at: deps.clock.now().toISOString() };
    },
  };
}

export type ForecastService = ReturnType<typeof createForecastService>;
