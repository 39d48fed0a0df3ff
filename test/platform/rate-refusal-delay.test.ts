import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';

// A tenant that floods and retries at once must cost a timer, not the CPU other tenants wait for:
// request-rate and ingest-limit refusals are held LIMIT_RATE_REFUSAL_DELAY_MS before they are sent.
const DELAY_MS = 400;
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { LIMIT_SERIES_PER_METRIC: '2', LIMIT_REQUESTS_PER_TENANT: '2', LIMIT_REQUEST_WINDOW_MS: '600000', LIMIT_RATE_REFUSAL_DELAY_MS: String(DELAY_MS) } });
});
afterAll(async () => t.close());

describe('request-rate refusals are held before they are sent', () => {
  it('a request over the tenant rate is answered 429 RATE_LIMITED no sooner than the delay; another tenant is answered at once', async () => {
    const flooder = newTenant();
    const headers = await bearer(flooder, ['viewer']);
    for (let index = 0; index < 2; index += 1) expect((await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/alerts', headers })).statusCode).toBe(200);
    const started = performance.now();
    const refused = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/alerts', headers });
    const heldMs = performance.now() - started;
    expect(refused.statusCode).toBe(429);
    expect(refused.json<{ error: { code: string; details: { limit: string } } }>().error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'requests' } });
    expect(refused.headers['retry-after']).toBeDefined();
    // A lower bound only: the answer cannot come before its timer, however busy the machine.
    expect(heldMs).toBeGreaterThanOrEqual(DELAY_MS - 5);

    const other = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/alerts', headers: await bearer(newTenant(), ['viewer']) });
    expect(other.statusCode).toBe(200);
  });
});

describe('ingest-limit refusals are held too', () => {
  // A refused batch is parsed and checked in full first: a tenant past its series limit that
  // retried at once had every 1,000-sample retry parsed on the event loop other tenants wait on.
  it('a batch past the series limit of its metric is answered 429 no sooner than the delay, and nothing is stored', async () => {
    const tenant = newTenant();
    const headers = await bearer(tenant, ['admin']);
    const metrics = ['a', 'b', 'c'].map((id) => ({ name: 'exploding', service: 'svc', value: 1, labels: { id } }));
    const started = performance.now();
    const refused = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers, payload: { metrics } });
    const heldMs = performance.now() - started;
    expect(refused.statusCode).toBe(429);
    expect(refused.json<{ error: { code: string; details: { limit: string } } }>().error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'active_series_per_metric' } });
    expect(heldMs).toBeGreaterThanOrEqual(DELAY_MS - 5);
    const stored = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/metrics?name=exploding', headers });
    expect(stored.json<{ data: unknown[] }>().data).toHaveLength(0);
  });
});
