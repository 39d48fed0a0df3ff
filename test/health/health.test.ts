import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHmacVerifier } from '../../src/auth/index.js';
import { createMemoryCache } from '../../src/platform/cache/index.js';
import { createTestApp, type TestApp } from '../support/app.js';
import { TEST_HMAC_SECRET } from '../support/env.js';
import { elasticsearchAnswer, startFakeServer, unusedPort, type Behaviour, type FakeServer } from '../support/health.js';

interface CheckBody {
  name: string;
  status: string;
  status_code: number | null;
  latency_ms: number | null;
  error: { category: string; message: string } | null;
  required?: boolean;
}

const SYSTEM_TENANT = '00000000-0000-4000-8000-000000000001';
let t: TestApp;
const servers: FakeServer[] = [];
let es: FakeServer;
let esBehaviour: Behaviour = elasticsearchAnswer('green');
const signatures: Array<{ service: string; tenantId: string } | string> = [];
let refusedPort: number;

beforeAll(async () => {
  const verify = createHmacVerifier({ secret: TEST_HMAC_SECRET, enabled: true, windowMs: 60_000, allowedServices: ['monitoring-service'], nonces: createMemoryCache() });
  const service = async (behaviour: Behaviour) => {
    const server = await startFakeServer((request) => {
      verify({ method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, rawBody: '' }).then(
        (principal) => signatures.push({ service: principal.service, tenantId: principal.tenantId }),
        (error: unknown) => signatures.push(String(error)),
      );
      return behaviour;
    });
    servers.push(server);
    return server.url;
  };
  refusedPort = await unusedPort();
  es = await startFakeServer(() => esBehaviour);
  t = await createTestApp({
    env: {
      AUTH_SERVICE_URL: await service({ status: 200 }),
      VENUE_SERVICE_URL: await service({ status: 404 }),
      EVENT_SERVICE_URL: await service({ status: 500 }),
      TICKET_SERVICE_URL: await service({ status: 200, delayMs: 2500 }),
      PAYMENT_SERVICE_URL: await service({ never: true }),
      MARKETPLACE_SERVICE_URL: `http://127.0.0.1:${refusedPort}`,
      ANALYTICS_SERVICE_URL: 'http://no-such-host.invalid',
      API_GATEWAY_SERVICE_URL: `${await service({ status: 401 })}/gateway/`,
      // Generous against a loaded machine: slow = 2.5 s answer over a 1.5 s threshold, silent = 4 s timeout.
      HEALTH_CHECK_TIMEOUT_MS: '4000',
      HEALTH_CHECK_SLOW_MS: '1500',
      HEALTH_DEPENDENCY_TIMEOUT_MS: '1500',
      HEALTH_RESULT_MAX_AGE_MS: '0',
      HEALTH_REQUIRED_DEPENDENCIES: 'postgresql,redis,elasticsearch',
      ELASTICSEARCH_URL: es.url,
      MONGODB_URL: `mongodb://127.0.0.1:${refusedPort}/admin`,
    },
  });
  // Warm-up: the first fetch pays for module loading, which would read as a slow service.
  await t.app.inject({ method: 'GET', url: '/health/services/all' });
}, 180_000);
afterAll(async () => {
  await t.close();
  await Promise.all([...servers, es].map((server) => server.stop()));
});

const byName = (list: CheckBody[]) => Object.fromEntries(list.map((item) => [item.name, item]));

describe('service checks', () => {
  it('maps 200, 404, 500, slow, silent, refused, unknown host and 401 to statuses and error categories', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/health/services/all' });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ status: string; services: CheckBody[]; not_configured: string[] }>();
    const services = byName(body.services);
    expect(body.status).toBe('unhealthy');
    expect(body.not_configured).toEqual([]);
    expect(services['auth']).toMatchObject({ status: 'healthy', status_code: 200, error: null });
    expect(services['venue']).toMatchObject({ status: 'degraded', status_code: 404, error: { category: 'bad_response' } });
    expect(services['event']).toMatchObject({ status: 'unhealthy', status_code: 500, error: { category: 'bad_response' } });
    expect(services['ticket']).toMatchObject({ status: 'degraded', status_code: 200, error: null });
    expect(services['ticket']?.latency_ms).toBeGreaterThan(1500);
    expect(services['payment']).toMatchObject({ status: 'unhealthy', status_code: null, latency_ms: null, error: { category: 'timeout' } });
    expect(services['marketplace']).toMatchObject({ status: 'unhealthy', error: { category: 'refused' } });
    expect(services['analytics']).toMatchObject({ status: 'unhealthy', error: { category: 'dns' } });
    expect(services['api-gateway']).toMatchObject({ status: 'degraded', status_code: 401, error: { category: 'auth' } });
  });

  it('signs every outbound check with the service HMAC and the system tenant, and keeps a base path', async () => {
    signatures.length = 0;
    await t.app.inject({ method: 'GET', url: '/health/auth' });
    await t.app.inject({ method: 'GET', url: '/health/api-gateway' });
    await expect.poll(() => signatures.length).toBe(2);
    expect(signatures).toEqual([
      { service: 'monitoring-service', tenantId: SYSTEM_TENANT },
      { service: 'monitoring-service', tenantId: SYSTEM_TENANT },
    ]);
    const gateway = servers.at(-1);
    expect(gateway?.requests.at(-1)?.url).toBe('/gateway/health');
  });

  it('answers /health/:service with 200 for healthy or degraded and 503 for unhealthy', async () => {
    const cases: Array<[string, number, string]> = [
      ['auth', 200, 'healthy'],
      ['venue', 200, 'degraded'],
      ['event', 503, 'unhealthy'],
      ['marketplace', 503, 'unhealthy'],
    ];
    for (const [name, code, status] of cases) {
      const response = await t.app.inject({ method: 'GET', url: `/health/${name}` });
      expect(response.statusCode, name).toBe(code);
      expect(response.json<CheckBody>().status).toBe(status);
    }
  });

  it('refuses unknown service names with NOT_FOUND and bad names with VALIDATION_FAILED', async () => {
    const unknown = await t.app.inject({ method: 'GET', url: '/health/billing' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<{ error: { code: string } }>().error.code).toBe('NOT_FOUND');
    const bad = await t.app.inject({ method: 'GET', url: '/health/DROP%20TABLE' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json<{ error: { code: string } }>().error.code).toBe('VALIDATION_FAILED');
  });

  it('leaves the foundation probes /health/live and /health/ready in place', async () => {
    const live = await t.app.inject({ method: 'GET', url: '/health/live' });
    expect(live.json()).toEqual({ status: 'ok' });
    const ready = await t.app.inject({ method: 'GET', url: '/health/ready' });
    expect(ready.statusCode).toBe(200);
    expect(ready.json<{ status: string }>().status).toBe('ok');
  });

  it('says which services are not configured instead of inventing a status', async () => {
    const bare = await createTestApp({ env: { HEALTH_RESULT_MAX_AGE_MS: '0' } });
    try {
      const all = await bare.app.inject({ method: 'GET', url: '/health/services/all' });
      expect(all.json()).toMatchObject({ status: 'healthy', services: [], not_configured: ['auth', 'venue', 'event', 'ticket', 'payment', 'marketplace', 'analytics', 'api-gateway'] });
      const one = await bare.app.inject({ method: 'GET', url: '/health/payment' });
      expect(one.statusCode).toBe(503);
      expect(one.json<{ error: { code: string } }>().error.code).toBe('NOT_CONFIGURED');
    } finally {
      await bare.close();
    }
    // A second app is built here; on a loaded machine that alone can take half a minute.
  }, 120_000);
});

describe('dependencies and /health', () => {
  it('reports each dependency with latency and category, and never a URL or driver message', async () => {
    esBehaviour = elasticsearchAnswer('green');
    const response = await t.app.inject({ method: 'GET', url: '/health/dependencies' });
    const body = response.json<{ status: string; dependencies: CheckBody[] }>();
    const deps = byName(body.dependencies);
    expect(deps['postgresql']).toMatchObject({ status: 'healthy', required: true, error: null });
    expect(deps['postgresql']?.latency_ms).toBeGreaterThanOrEqual(0);
    expect(deps['elasticsearch']).toMatchObject({ status: 'healthy', required: true });
    expect(deps['mongodb']).toMatchObject({ status: 'unhealthy', required: false, error: { category: 'refused' } });
    // MongoDB is optional here: it degrades, the required ones hold.
    expect(response.statusCode).toBe(200);
    expect(body.status).toBe('degraded');
    const raw = response.body + (await t.app.inject({ method: 'GET', url: '/health' })).body + (await t.app.inject({ method: 'GET', url: '/health/services/all' })).body;
    expect(raw).not.toMatch(/127\.0\.0\.1|mongodb:\/\/|http:\/\/|no-such-host|ECONN|stack|secret/i);
  });

  it('/health turns 503 when a required dependency is down and 200 again when it returns', async () => {
    esBehaviour = elasticsearchAnswer('green');
    const before = await t.app.inject({ method: 'GET', url: '/health' });
    expect(before.statusCode).toBe(200);
    expect(before.json<{ status: string }>().status).toBe('degraded');

    await es.stop();
    try {
      const down = await t.app.inject({ method: 'GET', url: '/health' });
      expect(down.statusCode).toBe(503);
      const downBody = down.json<{ status: string; dependencies: CheckBody[] }>();
      expect(downBody.status).toBe('unhealthy');
      expect(byName(downBody.dependencies)['elasticsearch']).toMatchObject({ status: 'unhealthy', error: { category: 'refused' } });
      expect((await t.app.inject({ method: 'GET', url: '/health/dependencies' })).statusCode).toBe(503);
    } finally {
      await es.restart();
    }
    const back = await t.app.inject({ method: 'GET', url: '/health' });
    expect(back.statusCode).toBe(200);
    expect(byName(back.json<{ dependencies: CheckBody[] }>().dependencies)['elasticsearch']?.status).toBe('healthy');
  });

  it('/status carries the health summary', async () => {
    esBehaviour = elasticsearchAnswer('green');
    const status = await t.app.inject({ method: 'GET', url: '/status' });
    expect(status.statusCode).toBe(200);
    // services: the last stored cycle (null here on a fresh database; another file's cycle on a shared one).
    expect(status.json<{ health: unknown }>().health).toMatchObject({ status: 'degraded', services: expect.toSatisfy((value: unknown) => value === null || typeof value === 'object') as unknown });
  });

  it('maps Elasticsearch yellow, red, 401 and a non-Elasticsearch answer', async () => {
    const check = async () => byName((await t.app.inject({ method: 'GET', url: '/health/dependencies' })).json<{ dependencies: CheckBody[] }>().dependencies)['elasticsearch'];
    esBehaviour = elasticsearchAnswer('yellow');
    expect(await check()).toMatchObject({ status: 'degraded', error: null });
    esBehaviour = elasticsearchAnswer('red');
    expect(await check()).toMatchObject({ status: 'unhealthy', error: { category: 'bad_response' } });
    expect((await t.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(503);
    esBehaviour = elasticsearchAnswer('green', { httpStatus: 401 });
    expect(await check()).toMatchObject({ status: 'unhealthy', error: { category: 'auth' } });
    esBehaviour = elasticsearchAnswer('green', { productHeader: false });
    expect(await check()).toMatchObject({ status: 'unhealthy', error: { category: 'bad_response' } });
    esBehaviour = { never: true };
    expect(await check()).toMatchObject({ status: 'unhealthy', error: { category: 'timeout' } });
    esBehaviour = elasticsearchAnswer('green');
  });
});
