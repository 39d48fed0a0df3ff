import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';

const STEP = 60_000;

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({});
});
afterAll(async () => {
  await t.close();
});

/** Minute-aligned start so each sample is one bucket; the last sample is a minute before now. */
const startFor = (points: number) => Math.floor(Date.now() / STEP) * STEP - points * STEP;
/** Deterministic noise in [-1, 1]. */
const noise = (i: number) => Math.sin(i * 12.9898) * Math.cos(i * 78.233);

async function seed(tenant: string, name: string, service: string, values: readonly number[], start: number) {
  await t.container.ingest.ingest(tenant, values.map((value, i) => ({ name, service, value, timestamp: new Date(start + i * STEP).toISOString() })), 'internal');
}

interface ForecastBody {
  method: string;
  backtest: { held_out: number; mae: Record<string, number> } | null;
  season_length: number | null;
  points: Array<{ timestamp: string; value: number; lower: number; upper: number }>;
}

async function forecastOf(tenant: string, query: string) {
  return t.app.inject({ method: 'GET', url: `/api/v1/analytics/forecast?${query}`, headers: await bearer(tenant, ['viewer']) });
}

describe('forecast', () => {
  it('a series with a linear trend is forecast within tolerance, the truth inside the interval', async () => {
    const tenant = newTenant();
    const n = 120;
    const start = startFor(n);
    const truth = (i: number) => 50 + 2 * i;
    await seed(tenant, 'queue_size', 'api', Array.from({ length: n }, (_, i) => truth(i) + noise(i)), start);
    const response = await forecastOf(tenant, 'metric_name=queue_size&service_name=api&horizon_minutes=30&step_seconds=60&method=linear-trend&window=60');
    expect(response.statusCode).toBe(200);
    const body = response.json<ForecastBody>();
    expect(body.method).toBe('linear-trend');
    expect(body.backtest).toBeNull();
    expect(body.points).toHaveLength(30);
    body.points.forEach((point, k) => {
      const expected = truth(n - 1 + k + 1);
      expect(point.timestamp).toBe(new Date(start + (n + k) * STEP).toISOString());
      expect(Math.abs(point.value - expected)).toBeLessThan(1.5);
      expect(point.lower).toBeLessThan(expected);
      expect(point.upper).toBeGreaterThan(expected);
    });
  });

  it('a seasonal series is forecast better by Holt-Winters (season detected) than by the moving average', async () => {
    const tenant = newTenant();
    const season = 24;
    const n = season * 6;
    const horizon = season;
    const start = startFor(n);
    const truth = (i: number) => 100 + 0.2 * i + 20 * Math.sin((2 * Math.PI * i) / season);
    await seed(tenant, 'active_users', 'web', Array.from({ length: n }, (_, i) => truth(i) + noise(i)), start);
    const mae = (body: ForecastBody) => body.points.reduce((sum, p, k) => sum + Math.abs(p.value - truth(n + k)), 0) / body.points.length;

    const auto = await forecastOf(tenant, `metric_name=active_users&service_name=web&horizon_minutes=${horizon}`);
    expect(auto.statusCode).toBe(200);
    const hw = auto.json<ForecastBody>();
    expect(hw.method).toBe('holt-winters');
    expect(hw.season_length).toBe(season);
    // auto chose by backtest: each candidate forecast the newest 24 points from the ones before.
    const backtest = hw.backtest;
    expect(backtest?.held_out).toBe(season);
    expect(Object.keys(backtest?.mae ?? {}).sort()).toEqual(['holt-winters', 'linear-trend', 'moving-average']);
    expect(backtest?.mae['holt-winters']).toBeLessThan(Math.min(backtest?.mae['linear-trend'] ?? 0, backtest?.mae['moving-average'] ?? 0));
    const moving = await forecastOf(tenant, `metric_name=active_users&service_name=web&horizon_minutes=${horizon}&method=moving-average&window=${season}`);
    expect(moving.statusCode).toBe(200);
    const hwError = mae(hw);
    const movingError = mae(moving.json<ForecastBody>());
    expect(hwError).toBeLessThan(3);
    expect(hwError).toBeLessThan(movingError / 3);
  });

  it('auto picks the trend over Holt-Winters for a trending series without a season, by backtest', async () => {
    const tenant = newTenant();
    const n = 120;
    await seed(tenant, 'disk_used', 'db', Array.from({ length: n }, (_, i) => 10 + 0.5 * i + noise(i)), startFor(n));
    const body = (await forecastOf(tenant, 'metric_name=disk_used&service_name=db&horizon_minutes=20&window=60')).json<ForecastBody>();
    expect(body.method).toBe('linear-trend');
    expect(body.backtest?.held_out).toBe(20);
    expect(body.backtest?.mae['linear-trend']).toBeLessThan(body.backtest?.mae['moving-average'] ?? 0);
  });

  it('an unknown metric is 404 UNKNOWN_METRIC; bad horizons are 400 VALIDATION_FAILED', async () => {
    const tenant = newTenant();
    const unknown = await forecastOf(tenant, 'metric_name=never_pushed&horizon_minutes=10');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<{ error: { code: string } }>().error.code).toBe('UNKNOWN_METRIC');
    await seed(tenant, 'queue_size', 'api', [1, 2, 3, 4, 5], startFor(5));
    for (const query of ['horizon_minutes=0', 'horizon_minutes=-5', 'horizon_minutes=abc', 'horizon_minutes=1&step_seconds=3600', 'horizon_minutes=43200&step_seconds=1']) {
      const response = await forecastOf(tenant, `metric_name=queue_size&service_name=api&${query}`);
      expect(response.statusCode, query).toBe(400);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('VALIDATION_FAILED');
    }
  });
});

describe('failure risk', () => {
  async function riskOf(tenant: string, service: string) {
    return t.app.inject({ method: 'GET', url: `/api/v1/analytics/failure-risk?service_name=${service}`, headers: await bearer(tenant, ['viewer']) });
  }
  type Risk = { risk: number; level: string; factors: Array<{ factor: string; score: number | null; contribution: number }> };

  it('a down service with server errors scores high with its factors listed; a healthy one scores low', async () => {
    const tenant = newTenant();
    const start = startFor(5);
    const at = (i: number) => new Date(start + i * STEP).toISOString();
    const sample = (service: string, name: string, value: number, i: number) => ({ name, service, value, timestamp: at(i) });
    await t.container.ingest.ingest(
      tenant,
      [0, 1, 2, 3, 4].flatMap((i) => [
        sample('payment', 'service_up', i < 3 ? 1 : 0, i),
        sample('payment', 'http_request_count', 100, i),
        sample('payment', 'http_server_error_count', 8, i),
        sample('payment', 'http_response_time_p95_ms', 1400, i),
        sample('web', 'service_up', 1, i),
        sample('web', 'http_request_count', 100, i),
        sample('web', 'http_server_error_count', 0, i),
        sample('web', 'http_response_time_p95_ms', 120, i),
        sample('web', 'system_cpu_usage_percent', 30, i),
      ]),
      'internal',
    );
    const bad = (await riskOf(tenant, 'payment')).json<Risk>();
    expect(bad.risk).toBeGreaterThan(0.95);
    expect(bad.level).toBe('critical');
    expect(bad.factors[0]).toMatchObject({ factor: 'service_down', score: 1 });
    expect(bad.factors.find((f) => f.factor === 'error_rate')?.score).toBe(1);
    expect(bad.factors.find((f) => f.factor === 'latency')?.score).toBeCloseTo(0.9, 5);
    expect(bad.factors.find((f) => f.factor === 'cpu')?.score).toBeNull();
    const good = (await riskOf(tenant, 'web')).json<Risk>();
    expect(good.risk).toBe(0);
    expect(good.level).toBe('low');
    const none = await riskOf(tenant, 'nothing');
    expect(none.statusCode).toBe(404);
    expect(none.json<{ error: { code: string } }>().error.code).toBe('NOT_FOUND');
  });

  it('counts earlier flapping by its share and falls back to http_response_time_ms without a pushed p95', async () => {
    const tenant = newTenant();
    const start = startFor(5);
    const sample = (name: string, value: number, i: number) => ({ name, service: 'api', value, timestamp: new Date(start + i * STEP).toISOString() });
    await t.container.ingest.ingest(tenant, [0, 1, 2, 3, 4].flatMap((i) => [sample('service_up', i === 1 ? 0 : 1, i), sample('http_response_time_ms', 1000, i), sample('system_memory_usage_percent', 85, i)]), 'internal');
    const risk = (await riskOf(tenant, 'api')).json<Risk>();
    expect(risk.factors.find((f) => f.factor === 'service_down')?.score).toBeCloseTo(0.4, 9);
    expect(risk.factors.find((f) => f.factor === 'latency')?.score).toBeCloseTo(0.5, 9);
    expect(risk.factors.find((f) => f.factor === 'memory')?.score).toBeCloseTo(0.5, 9);
    expect(risk.factors.find((f) => f.factor === 'error_rate')?.score).toBeNull();
  });
});

describe('performance dashboard forecast', () => {
  it("carries each service's p95 forecast from performance_metrics", async () => {
    const tenant = newTenant();
    const n = 50;
    const start = startFor(n);
    await t.container.db.withTenant(tenant, (tx) =>
      tx.query(
        `INSERT INTO performance_metrics (tenant_id, service_name, endpoint, method, response_time_ms, status_code, "timestamp")
         SELECT $1, 'payment', '/pay', 'POST', ms, 200, at FROM unnest($2::float8[], $3::timestamptz[]) AS x(ms, at)`,
        [tenant, Array.from({ length: n }, (_, i) => 100 + 2 * i), Array.from({ length: n }, (_, i) => new Date(start + i * STEP + 1_000))],
      ),
    );
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboard/performance', headers: await bearer(tenant, ['viewer']) });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ forecast: { step_seconds: number; services: Array<{ service_name: string; method: string; points: Array<{ timestamp: string; value: number }> }> } }>();
    expect(body.forecast.step_seconds).toBe(60);
    const [payment] = body.forecast.services;
    expect(payment?.service_name).toBe('payment');
    expect(payment?.method).toBe('linear-trend');
    expect(payment?.points).toHaveLength(30);
    expect(payment?.points[0]?.timestamp).toBe(new Date(start + n * STEP).toISOString());
    expect(payment?.points[0]?.value).toBeCloseTo(100 + 2 * n, 6);
  });
});
