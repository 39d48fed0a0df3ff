import type { Static } from '@sinclair/typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ManualClock } from '../../src/platform/clock.js';
import type { SlaResponseSchema } from '../../src/sla/sla.routes.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { testEnv } from '../support/env.js';

const DAY = '2026-01-05T00:00:00.000Z';
const NEXT_DAY = '2026-01-06T00:00:00.000Z';
let t: TestApp;
const clock = new ManualClock(Date.parse('2026-01-06T00:20:00Z'));

beforeAll(async () => {
  t = await createTestApp({ clock, env: { SLA_TARGETS: JSON.stringify({ payment: { uptime_percentage: 98 }, ticket: { response_time_ms: 90 } }) } });
}, 180_000);
afterAll(async () => t.close());

/** n checks of one service spread over the day, the first `down` of them unhealthy. */
async function seedChecks(tenant: string, service: string, n: number, down: number, dayStart = DAY) {
  await t.container.db.withTenant(tenant, (tx) =>
    tx.query(
      `INSERT INTO health_check_results (tenant_id, target_kind, target_name, status, latency_ms, status_code, checked_at)
       SELECT $1, 'service', $2, CASE WHEN i <= $4 THEN 'unhealthy' WHEN i % 10 = 0 THEN 'degraded' ELSE 'healthy' END, 5, 200,
              $5::timestamptz + (i * interval '1 second') * (86000 / $3)
       FROM generate_series(1, $3) AS i`,
      [tenant, service, n, down, dayStart],
    ),
  );
}

async function seedRequests(tenant: string, service: string, times: number[]) {
  await t.container.db.withTenant(tenant, (tx) =>
    tx.query(
      `INSERT INTO performance_metrics (tenant_id, service_name, endpoint, method, response_time_ms, status_code, "timestamp")
       SELECT $1, $2, '/api/v1/orders', 'GET', ms, 200, $4::timestamptz + interval '1 hour' FROM unnest($3::float8[]) AS ms`,
      [tenant, service, times, DAY],
    ),
  );
}

async function seedFixture(tenant: string) {
  await seedChecks(tenant, 'payment', 200, 3);
  await seedRequests(tenant, 'payment-service', [100, 200, 300, 400, 1000]);
  await seedChecks(tenant, 'ticket', 100, 1);
  await seedRequests(tenant, 'ticket', Array.from({ length: 100 }, (_, index) => index + 1));
  await seedChecks(tenant, 'venue', 50, 0);
  // Outside the range: the day before, all down.
  await seedChecks(tenant, 'venue', 10, 10, '2026-01-04T00:00:00.000Z');
}

const bodyOf = async (tenant: string, query: string) => {
  const response = await t.app.inject({ method: 'GET', url: `/api/v1/monitoring/dashboard/sla${query}`, headers: await bearer(tenant, ['viewer']) });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<Static<typeof SlaResponseSchema>>();
};

describe('SLA compliance', () => {
  it('matches the hand-computed fixture: uptime from checks, p95 from performance_metrics, per-service targets', async () => {
    const tenant = newTenant();
    await seedFixture(tenant);
    await seedChecks(newTenant(), 'payment', 10, 10);
    const body = await bodyOf(tenant, `?from=${DAY}&to=${NEXT_DAY}`);
    expect(body.from).toBe(DAY);
    const [payment, ticket, venue] = body.services;
    // payment: 197 of 200 up = 98.5 % >= its 98 % target; p95 of 100,200,300,400,1000 = 400 + 0.8 * 600 = 880 > 500 default.
    expect(payment).toEqual({
      service_name: 'payment', uptime_percentage: 98.5, checks_total: 200, checks_up: 197, response_time_p95: 880, requests_total: 5,
      target_uptime_percentage: 98, target_response_time_ms: 500, violations: [{ type: 'response_time_p95', target: 500, actual: 880 }], compliant: false,
    });
    // ticket: 99 of 100 = 99 % < 99.9 default; p95 of 1..100 = 1 + 0.95 * 99 = 95.05 > its 90 ms target.
    expect(ticket).toEqual({
      service_name: 'ticket', uptime_percentage: 99, checks_total: 100, checks_up: 99, response_time_p95: 95.05, requests_total: 100,
      target_uptime_percentage: 99.9, target_response_time_ms: 90,
      violations: [{ type: 'uptime', target: 99.9, actual: 99 }, { type: 'response_time_p95', target: 90, actual: 95.05 }], compliant: false,
    });
    // venue: 50 of 50; no request recorded, so no p95 (absent, not 0).
    expect(venue).toMatchObject({ service_name: 'venue', uptime_percentage: 100, checks_total: 50, response_time_p95: null, requests_total: 0, violations: [], compliant: true });
    expect(body.services).toHaveLength(3);
    expect((await bodyOf(tenant, `?from=${DAY}&to=${NEXT_DAY}&service=payment-service`)).services.map((entry) => entry.service_name)).toEqual(['payment']);
  });

  it('the daily sla-computation job stores the previous UTC day in sla_metrics, shown as history', async () => {
    const tenant = newTenant();
    await seedFixture(tenant);
    expect(await t.container.scheduler.runNow('sla-computation')).toMatchObject({ status: 'ran' });
    const stored = await t.container.db.withTenant(tenant, (tx) =>
      tx.query<{ service_name: string; uptime_percentage: number; response_time_p95: number | null; checks_total: number; period_start: Date; period_end: Date }>(
        'SELECT service_name, uptime_percentage, response_time_p95, checks_total, period_start, period_end FROM sla_metrics WHERE tenant_id = $1 AND period_start = $2 ORDER BY service_name',
        [tenant, DAY],
      ),
    );
    expect(stored.rows.map((row) => [row.service_name, row.uptime_percentage, row.response_time_p95, row.checks_total, row.period_start.toISOString(), row.period_end.toISOString()])).toEqual([
      ['payment', 98.5, 880, 200, DAY, NEXT_DAY],
      ['ticket', 99, 95.05, 100, DAY, NEXT_DAY],
      ['venue', 100, null, 50, DAY, NEXT_DAY],
    ]);
    // Idempotent: computing the same day again updates in place.
    await t.container.sla.computeAndStore(new Date(DAY), new Date(NEXT_DAY));
    const count = await t.container.db.withTenant(tenant, (tx) => tx.query('SELECT 1 FROM sla_metrics WHERE tenant_id = $1 AND period_start = $2', [tenant, DAY]));
    expect(count.rowCount).toBe(3);
    const body = await bodyOf(tenant, `?from=2026-01-01T00:00:00Z&to=2026-01-07T00:00:00Z`);
    expect(body.history.map((row) => [row.service_name, row.period_start, row.violations.length])).toEqual([
      ['payment', DAY, 1],
      ['ticket', DAY, 2],
      ['venue', DAY, 0],
      // The day before had data and no stored row: the job computed it too (a tenant that failed on a day is retried the next).
      ['venue', '2026-01-04T00:00:00.000Z', 1],
    ]);
  });

  it('defaults to the last 24 hours and shows nothing for a tenant without data', async () => {
    const body = await bodyOf(newTenant(), '');
    expect(body).toEqual({ from: '2026-01-05T00:20:00.000Z', to: '2026-01-06T00:20:00.000Z', services: [], history: [] });
  });

  it('refuses reversed, oversized and malformed ranges with VALIDATION_FAILED', async () => {
    const headers = await bearer(newTenant(), ['viewer']);
    for (const query of [`?from=${NEXT_DAY}&to=${DAY}`, `?from=${DAY}&to=${DAY}`, '?from=2024-01-01T00:00:00Z&to=2026-01-01T00:00:00Z', '?from=yesterday']) {
      const response = await t.app.inject({ method: 'GET', url: `/api/v1/monitoring/dashboard/sla${query}`, headers });
      expect(response.statusCode, query).toBe(400);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('VALIDATION_FAILED');
    }
    expect((await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/dashboard/sla' })).statusCode).toBe(401);
  });

  it('tenant B never sees tenant A service levels', async () => {
    const a = newTenant();
    await seedFixture(a);
    await t.container.sla.computeAndStore(new Date(DAY), new Date(NEXT_DAY));
    expect(await bodyOf(newTenant(), `?from=2026-01-01T00:00:00Z&to=2026-01-07T00:00:00Z`)).toMatchObject({ services: [], history: [] });
  });

  it('rejects malformed SLA_TARGETS at start with the variable named', () => {
    expect(() => loadConfig(testEnv({ SLA_TARGETS: '{not json' }))).toThrow(/SLA_TARGETS/);
    expect(() => loadConfig(testEnv({ SLA_TARGETS: '{"payment":{"uptime_percentage":120}}' }))).toThrow(/SLA_TARGETS.*at most 100/);
    expect(() => loadConfig(testEnv({ SLA_DEFAULT_UPTIME_TARGET: '0' }))).toThrow(/SLA_DEFAULT_UPTIME_TARGET/);
  });
});
