import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { startFakeServer, type FakeServer } from '../support/health.js';

const NOW = Date.parse('2026-02-01T12:00:00Z');
let t: TestApp;
let auth: FakeServer;
const clock = new ManualClock(NOW);

beforeAll(async () => {
  auth = await startFakeServer(() => ({ status: 200 }));
  t = await createTestApp({ clock, env: { AUTH_SERVICE_URL: auth.url, SYSTEM_TENANT_ID: newTenant() } });
}, 180_000);
afterAll(async () => {
  await t.close();
  await auth.stop();
});

const minutesAgo = (minutes: number) => new Date(NOW - minutes * 60_000);

async function seedRequests(tenant: string, rows: Array<{ service: string; endpoint: string; ms: number; status?: number; at?: Date }>) {
  await t.container.db.withTenant(tenant, (tx) =>
    tx.query(
      `INSERT INTO performance_metrics (tenant_id, service_name, endpoint, method, response_time_ms, status_code, "timestamp")
       SELECT $1, s, e, 'GET', ms, code, at FROM unnest($2::text[], $3::text[], $4::float8[], $5::int[], $6::timestamptz[]) AS x(s, e, ms, code, at)`,
      [tenant, rows.map((row) => row.service), rows.map((row) => row.endpoint), rows.map((row) => row.ms), rows.map((row) => row.status ?? 200), rows.map((row) => row.at ?? minutesAgo(2))],
    ),
  );
}

const get = async <T>(tenant: string, url: string): Promise<T> => {
  const response = await t.app.inject({ method: 'GET', url, headers: await bearer(tenant, ['viewer']) });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<T>();
};

describe('dashboard overview', () => {
  it('shows stored health, active alerts and incidents by severity and the last 5 minutes of traffic', async () => {
    const tenant = newTenant();
    await t.container.health.runCycle();
    const raise = (fingerprint: string, severity: 'critical' | 'warning', status: 'firing' | 'pending' = 'firing') =>
      t.container.alerts.raise(tenant, { fingerprint, name: fingerprint, type: 'threshold', severity, message: 'm', source: 'test', status });
    await raise('a', 'critical');
    await raise('b', 'critical');
    await raise('c', 'warning');
    await raise('d', 'warning', 'pending');
    await t.container.alerts.resolve(tenant, { fingerprint: 'b' }, 'me');
    await t.container.incidents.create(tenant, 'me', { title: 'x', severity: 'error' });
    await seedRequests(tenant, [
      ...Array.from({ length: 8 }, () => ({ service: 'ticket', endpoint: '/a', ms: 10 })),
      { service: 'ticket', endpoint: '/a', ms: 10, status: 500 },
      { service: 'payment', endpoint: '/b', ms: 10, status: 503 },
      // Older than the 5-minute window.
      { service: 'payment', endpoint: '/b', ms: 10, status: 500, at: minutesAgo(30) },
    ]);
    const body = await get(tenant, '/api/v1/monitoring/dashboard/overview');
    expect(body).toEqual({
      generated_at: new Date(NOW).toISOString(),
      health: { services: [{ name: 'auth', status: 'healthy', latency_ms: expect.any(Number) as number, checked_at: new Date(NOW).toISOString() }] },
      alerts: { active_total: 2, by_severity: { critical: 1, warning: 1 } },
      incidents: { active_total: 1, by_severity: { error: 1 } },
      rates: { window_seconds: 300, requests_per_minute: 2, error_rate: 0.2 },
    });
  });

  it('leaves rates absent (null) for a tenant without traffic instead of reporting zero', async () => {
    const body = await get<{ rates: unknown; alerts: unknown }>(newTenant(), '/api/v1/monitoring/dashboard/overview');
    expect(body.rates).toBeNull();
    expect(body.alerts).toEqual({ active_total: 0, by_severity: {} });
  });
});

describe('dashboard performance', () => {
  it('computes p50/p95/p99 and error rate per service and endpoint, and ranks the slowest endpoints', async () => {
    const tenant = newTenant();
    await seedRequests(tenant, [
      ...Array.from({ length: 100 }, (_, index) => ({ service: 'ticket', endpoint: '/tickets', ms: index + 1, status: index < 5 ? 500 : 200 })),
      ...[1000, 2000, 3000].map((ms) => ({ service: 'payment', endpoint: '/charge', ms })),
      { service: 'payment', endpoint: '/old', ms: 9999, at: minutesAgo(120) },
    ]);
    const body = await get<{
      services: Array<Record<string, unknown>>;
      endpoints: Array<Record<string, unknown>>;
      slowest_endpoints: Array<{ endpoint: string }>;
      forecast?: unknown;
    }>(tenant, '/api/v1/monitoring/dashboard/performance');
    // percentile_cont over 1..100: p50 = 50.5, p95 = 95.05, p99 = 99.01.
    expect(body.services).toEqual([
      { service_name: 'payment', requests: 3, errors: 0, error_rate: 0, p50_ms: 2000, p95_ms: 2900, p99_ms: 2980 },
      { service_name: 'ticket', requests: 100, errors: 5, error_rate: 0.05, p50_ms: 50.5, p95_ms: 95.05, p99_ms: 99.01 },
    ]);
    expect(body.endpoints.map((row) => [row['service_name'], row['endpoint'], row['requests']])).toEqual([
      ['ticket', '/tickets', 100],
      ['payment', '/charge', 3],
    ]);
    // Endpoint rows carry their own percentiles (computed in the same pass as the per-service ones).
    expect(body.endpoints[1]).toEqual({ service_name: 'payment', endpoint: '/charge', method: 'GET', requests: 3, errors: 0, error_rate: 0, p50_ms: 2000, p95_ms: 2900, p99_ms: 2980 });
    expect(body.endpoints[0]).toMatchObject({ endpoint: '/tickets', errors: 5, error_rate: 0.05, p50_ms: 50.5, p95_ms: 95.05, p99_ms: 99.01 });
    expect(body.slowest_endpoints.map((row) => row.endpoint)).toEqual(['/charge', '/tickets']);
    // The ML domain registers its p95 forecast at start (two minutes of data: too few buckets to forecast).
    expect(body.forecast).toMatchObject({ metric: 'p95_response_time_ms', services: [{ service_name: 'payment', method: null }, { service_name: 'ticket', method: null }] });
    // 1000, 2000, 3000, 9999: p95 at rank 2.85 = 3000 + 0.85 * 6999 = 8949.15; p99 at 2.97 = 9789.03.
    const filtered = await get<{ services: unknown[] }>(tenant, '/api/v1/monitoring/dashboard/performance?service=payment&from=2026-02-01T09:00:00Z&to=2026-02-01T12:00:00Z');
    expect(filtered.services).toEqual([{ service_name: 'payment', requests: 4, errors: 0, error_rate: 0, p50_ms: 2500, p95_ms: 8949.15, p99_ms: 9789.03 }]);
  });

  it('carries a forecast once a provider is registered', async () => {
    const tenant = newTenant();
    t.container.dashboard.setForecastProvider(async (forTenant, range) => ({ tenant: forTenant === tenant, horizon_to: range.to.toISOString() }));
    const body = await get<{ forecast: unknown }>(tenant, '/api/v1/monitoring/dashboard/performance');
    expect(body.forecast).toEqual({ tenant: true, horizon_to: new Date(NOW).toISOString() });
  });
});

describe('dashboard business', () => {
  it('adds up what was pushed, by currency, keeps gauges at their newest value and lists what has no data', async () => {
    const tenant = newTenant();
    const at = (minutes: number) => minutesAgo(minutes).toISOString();
    await t.container.ingest.ingest(tenant, [
      { name: 'tickets_sold_total', service: 'ticket-service', value: 3, labels: { event_id: 'e1' }, timestamp: at(60) },
      { name: 'tickets_sold_total', service: 'ticket-service', value: 4, labels: { event_id: 'e2' }, timestamp: at(30) },
      { name: 'tickets_sold_total', service: 'ticket-service', value: 100, labels: { event_id: 'e1' }, timestamp: at(3 * 24 * 60) },
      { name: 'revenue_total_cents', service: 'ticket-service', value: 5000, labels: { currency: 'EUR' }, timestamp: at(60) },
      { name: 'revenue_total_cents', service: 'ticket-service', value: 2500, labels: { currency: 'EUR' }, timestamp: at(20) },
      { name: 'revenue_total_cents', service: 'ticket-service', value: 700, labels: { currency: 'USD' }, timestamp: at(20) },
      { name: 'active_users', service: 'ticket-service', value: 40, labels: { type: 'web' }, timestamp: at(60) },
      { name: 'active_users', service: 'ticket-service', value: 42, labels: { type: 'web' }, timestamp: at(10) },
      { name: 'active_users', service: 'ticket-service', value: 8, labels: { type: 'app' }, timestamp: at(10) },
    ], 'internal');
    const body = await get<{ metrics: Record<string, unknown>; no_data: string[] }>(tenant, '/api/v1/monitoring/dashboard/business');
    expect(body.metrics).toEqual({
      tickets_sold: { metric_name: 'tickets_sold_total', value: 7, samples: 2, last_sample_at: at(30) },
      revenue_cents: { metric_name: 'revenue_total_cents', value: null, by_currency: { EUR: 7500, USD: 700 }, samples: 3, last_sample_at: at(20) },
      active_users: { metric_name: 'active_users', value: 50, samples: 2, last_sample_at: at(10) },
    });
    expect(body.no_data).toEqual(['tickets_listed', 'refunds', 'refunds_cents', 'sales', 'sales_tickets', 'sales_revenue_cents']);
  });

  it('has no figures at all for a tenant that pushed nothing (absent, not zero)', async () => {
    const body = await get<{ metrics: Record<string, unknown>; no_data: string[] }>(newTenant(), '/api/v1/monitoring/dashboard/business');
    expect(body.metrics).toEqual({});
    expect(body.no_data).toHaveLength(9);
  });

  it('refuses a reversed range with VALIDATION_FAILED', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboard/business?from=2026-02-01T12:00:00Z&to=2026-02-01T11:00:00Z', headers: await bearer(newTenant(), ['viewer']) });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('VALIDATION_FAILED');
  });

  it('tenant B never sees tenant A figures', async () => {
    const a = newTenant();
    await t.container.ingest.ingest(a, [{ name: 'tickets_sold_total', service: 'ticket-service', value: 9, timestamp: minutesAgo(5).toISOString() }], 'internal');
    await seedRequests(a, [{ service: 'ticket', endpoint: '/x', ms: 5 }]);
    const b = newTenant();
    expect((await get<{ metrics: unknown }>(b, '/api/v1/monitoring/dashboard/business')).metrics).toEqual({});
    expect((await get<{ services: unknown[] }>(b, '/api/v1/monitoring/dashboard/performance')).services).toEqual([]);
    expect((await get<{ rates: unknown }>(b, '/api/v1/monitoring/dashboard/overview')).rates).toBeNull();
  });
});
