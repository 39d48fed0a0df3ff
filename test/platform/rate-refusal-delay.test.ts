import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';

// A tenant that floods and retries at once must cost a timer, not the CPU other tenants wait for:
// request-rate refusals are held LIMIT_RATE_REFUSAL_DELAY_MS before they are sent.
const DELAY_MS = 400;
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { LIMIT_REQUESTS_PER_TENANT: '2', LIMIT_REQUEST_WINDOW_MS: '600000', LIMIT_RATE_REFUSAL_DELAY_MS: String(DELAY_MS) } });
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
