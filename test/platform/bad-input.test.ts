import { connect as connectTcp } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { listen } from '../support/ws.js';

const PATH = '/api/v1/monitoring/metrics';
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { BODY_LIMIT_BYTES: '4096' } });
});
afterAll(async () => t.close());

async function post(tenant: string, payload: string, contentType = 'application/json') {
  return t.app.inject({ method: 'POST', url: PATH, headers: { ...(await bearer(tenant)), 'content-type': contentType }, payload });
}
async function countFor(tenant: string) {
  const response = await t.app.inject({ method: 'GET', url: PATH, headers: await bearer(tenant) });
  return response.json<{ data: unknown[] }>().data.length;
}
const errorOf = (body: string) => (JSON.parse(body) as { error: { code: string; details?: unknown }; requestId: string });

describe('bad input gets a 4xx with a code and writes nothing', () => {
  it.each([
    ['malformed JSON', '{"name": "x", ', 400, 'BAD_REQUEST'],
    ['a wrong type', JSON.stringify({ name: 'x', service: 's', value: 'high' }), 400, 'VALIDATION_FAILED'],
    ['an invalid metric name', JSON.stringify({ name: '1bad name', service: 's', value: 1 }), 400, 'VALIDATION_FAILED'],
    ['an unknown field', JSON.stringify({ name: 'x', service: 's', value: 1, extra: true }), 400, 'VALIDATION_FAILED'],
    ['an empty batch', JSON.stringify({ metrics: [] }), 400, 'VALIDATION_FAILED'],
    ['an oversized body', JSON.stringify({ metrics: Array.from({ length: 200 }, (_, i) => ({ name: 'x', service: 's', value: i })) }), 413, 'PAYLOAD_TOO_LARGE'],
  ])('%s', async (_what, payload, status, code) => {
    const tenant = newTenant();
    const response = await post(tenant, payload);
    expect(response.statusCode).toBe(status);
    const body = errorOf(response.body);
    expect(body.error.code).toBe(code);
    expect(body.requestId).toBe(response.headers['x-request-id']);
    expect(await countFor(tenant)).toBe(0);
  });

  it.each(['/api/v1/monitoring/alerts', '/api/v1/monitoring/dashboards', '/api/v1/monitoring/incidents'])('an id of %s that is not a plain UUID (urn:uuid: prefix) is a 400, not a database error', async (base) => {
    const response = await t.app.inject({ method: 'GET', url: `${base}/urn:uuid:6f1c7c8e-2a3b-4c5d-8e9f-0a1b2c3d4e5f`, headers: await bearer(newTenant()) });
    expect(response.statusCode).toBe(400);
    expect(errorOf(response.body).error.code).toBe('VALIDATION_FAILED');
  });

  it('refuses an unsupported content type with 415', async () => {
    const tenant = newTenant();
    const response = await post(tenant, 'name=x', 'application/x-www-form-urlencoded');
    expect(response.statusCode).toBe(415);
    expect(errorOf(response.body).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    expect(await countFor(tenant)).toBe(0);
  });

  it('stores nothing from a batch with one bad sample and says which one', async () => {
    const tenant = newTenant();
    const old = new Date(Date.now() - 400 * 86_400_000).toISOString();
    const response = await post(tenant, JSON.stringify({ metrics: [{ name: 'ok', service: 's', value: 1 }, { name: 'late', service: 's', value: 2, timestamp: old }] }));
    expect(response.statusCode).toBe(400);
    expect(errorOf(response.body).error).toMatchObject({ code: 'VALIDATION_FAILED', details: { samples: [{ index: 1, name: 'late' }] } });
    expect(await countFor(tenant)).toBe(0);
  });

  it('answers an unknown route with 404 NOT_FOUND', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/nope' });
    expect(response.statusCode).toBe(404);
    expect(errorOf(response.body).error.code).toBe('NOT_FOUND');
  });
});

/** Issue 13, point 8: each of these answered 500 (or stored coerced or mangled data); each is a 400 with a code that writes nothing. */
describe('hostile input that reached the database', () => {
  // The default body limit: 6,000 levels of nesting must reach the parser, not the 4 KiB limit above.
  let big: TestApp;
  beforeAll(async () => {
    big = await createTestApp();
  });
  afterAll(async () => big.close());

  const send = async (tenant: string, method: 'GET' | 'POST', url: string, payload?: string) =>
    big.app.inject({ method, url, headers: { ...(await bearer(tenant)), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, payload });
  const rows = async (tenant: string, table: string) => {
    const result = await big.container.db.withTenant(tenant, (tx) => tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE tenant_id = $1`, [tenant]));
    return result.rows[0]?.n;
  };
  const expectRefused = (response: { statusCode: number; body: string }, code = 'VALIDATION_FAILED', status = 400) => {
    expect(response.statusCode).toBe(status);
    expect(errorOf(response.body).error.code).toBe(code);
  };
  const metric = (extra: string) => `{"name":"x","service":"s",${extra}}`;

  type Table = 'metrics' | 'incidents' | 'sales' | 'dashboards' | 'alert_silences';
  it.each<[string, Table, string, string, string?]>([
    ['a NUL in a text field', 'incidents', '/api/v1/monitoring/incidents', '{"title":"a\\u0000b","severity":"info"}'],
    ['a lone surrogate in a text field (was stored as U+FFFD)', 'incidents', '/api/v1/monitoring/incidents', '{"title":"a\\ud800b","severity":"info"}'],
    ['a NUL in a label value', 'metrics', '/api/v1/monitoring/metrics', metric('"value":1,"labels":{"a":"b\\u0000"}')],
    ['a lone surrogate in a label name', 'metrics', '/api/v1/monitoring/metrics', metric('"value":1,"labels":{"\\udc00":"b"}')],
    ['a metric value of null (was stored as 0)', 'metrics', '/api/v1/monitoring/metrics', metric('"value":null')],
    ['a metric value of true (was stored as 1)', 'metrics', '/api/v1/monitoring/metrics', metric('"value":true')],
    ['a metric value of "1" (was stored as 1)', 'metrics', '/api/v1/monitoring/metrics', metric('"value":"1"')],
    ['a metric value of 1e400', 'metrics', '/api/v1/monitoring/metrics', metric('"value":1e400')],
    ['amount_cents: 1e20 (beyond bigint)', 'sales', '/api/v1/analytics/sales/track', '{"sale_id":"s1","event_id":"e1","tickets":1,"amount_cents":1e20,"currency":"EUR"}'],
    ['JSON nested 6,000 levels deep', 'dashboards', '/api/v1/monitoring/dashboards', `{"name":"d","widgets":[],"shared":false,"layout":{"a":${'['.repeat(6000)}${']'.repeat(6000)}}}`],
    ['a bad escape in a silence matcher regex', 'alert_silences', '/api/v1/monitoring/alerts/silences', `{"matchers":[{"name":"a","value":"\\\\q","is_regex":true,"is_equal":true}],"ends_at":"${new Date(Date.now() + 3_600_000).toISOString()}","comment":"c"}`, 'INVALID_MATCHER'],
  ])('%s', async (_what, table, url, payload, code = 'VALIDATION_FAILED') => {
    const tenant = newTenant();
    expectRefused(await send(tenant, 'POST', url, payload), code);
    expect(await rows(tenant, table)).toBe(0);
  });

  it.each([
    ['a NUL in a path parameter', '/api/v1/analytics/sales/a%00b'],
    ['a NUL in a query parameter', '/api/v1/monitoring/alerts?service=a%00b'],
    ['a lone surrogate (its WTF-8 bytes) in a query parameter', '/api/v1/monitoring/alerts?service=a%ED%A0%80b'],
    ['limit=1e400', '/api/v1/monitoring/alerts?limit=1e400'],
    ['limit=Infinity', '/api/v1/monitoring/metrics?limit=Infinity'],
    ['offset=1e400', '/api/v1/monitoring/incidents?offset=1e400'],
    ['offset beyond 64-bit integers', '/api/v1/monitoring/dashboards?offset=18446744073709551616'],
    ['offset=2^63', '/api/v1/monitoring/alerts/silences?offset=9223372036854775808'],
    ['a cursor far in the future', `/api/v1/monitoring/metrics?cursor=${Buffer.from('+275760-09-13T00:00:00.000Z|1').toString('base64url')}`],
    ['a bad escape in a matcher value', `/api/v1/monitoring/metrics?match=${encodeURIComponent('a="\\q"')}`],
    ['an escaped NUL in a matcher value', `/api/v1/monitoring/metrics?match=${encodeURIComponent('a="\\u0000"')}`],
  ])('%s', async (_what, url) => {
    expectRefused(await send(newTenant(), 'GET', url));
  });

  it('a lone surrogate in a path is refused by the router in the error envelope', async () => {
    expectRefused(await send(newTenant(), 'GET', '/api/v1/analytics/sales/a%ED%A0%80b'), 'BAD_REQUEST');
  });

  it('a bad regex escape in a query matcher is INVALID_MATCHER', async () => {
    expectRefused(await send(newTenant(), 'GET', `/api/v1/monitoring/metrics?match=${encodeURIComponent('a=~"\\\\q"')}`), 'INVALID_MATCHER');
  });
});

describe("Fastify's and Node's own refusals use the error envelope", () => {
  it('an invalid URL is 400 BAD_REQUEST', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/sales/%E0%A4%A', headers: await bearer(newTenant()) });
    expect(response.statusCode).toBe(400);
    expect(errorOf(response.body)).toMatchObject({ error: { code: 'BAD_REQUEST' }, requestId: response.headers['x-request-id'] });
  });

  it('an over-long path parameter is 414 BAD_REQUEST', async () => {
    const response = await t.app.inject({ method: 'GET', url: `/api/v1/analytics/sales/${'a'.repeat(150)}`, headers: await bearer(newTenant()) });
    expect(response.statusCode).toBe(414);
    expect(errorOf(response.body).error.code).toBe('BAD_REQUEST');
  });

  it('the WebSocket path without an upgrade is 426 BAD_REQUEST', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/ws' });
    expect(response.statusCode).toBe(426);
    expect(response.headers['upgrade']).toBe('websocket');
    expect(errorOf(response.body).error.code).toBe('BAD_REQUEST');
  });

  it.each([
    ['oversized headers are 431', `GET /status HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ['malformed HTTP is 400', 'GET /status HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n', 400],
  ])('%s', async (_what, request, status) => {
    const port = Number(new URL(await listen(t.app)).port);
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connectTcp(port, '127.0.0.1', () => socket.write(request));
      let received = '';
      socket.on('data', (chunk) => (received += chunk.toString()));
      socket.on('close', () => resolve(received));
      socket.on('error', reject);
    });
    const [head = '', body = ''] = raw.split('\r\n\r\n');
    expect(head).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect(errorOf(body).error.code).toBe('BAD_REQUEST');
  });
});

describe('status and probes', () => {
  it('/status names the adapters and leaks no secret', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/status' });
    expect(response.statusCode).toBe(200);
    const body = response.json<{ adapters: { db: string } }>();
    expect(['pglite', 'postgres']).toContain(body.adapters.db);
    expect(response.body).not.toMatch(/secret|postgres:\/\/|redis:\/\//i);
  });

  it('/health/live and /health/ready answer 200 while the database is up', async () => {
    expect((await t.app.inject({ method: 'GET', url: '/health/live' })).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'GET', url: '/health/ready' })).statusCode).toBe(200);
  });

  it('/docs serves the OpenAPI document built from the route schemas', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/docs/json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json<{ openapi: string; paths: Record<string, unknown> }>();
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toContain('/api/v1/monitoring/metrics');
  });
});

describe('readiness when the database is gone', () => {
  it('/health/ready turns 503', async () => {
    const own = await createTestApp();
    await own.container.db.close();
    const response = await own.app.inject({ method: 'GET', url: '/health/ready' });
    expect(response.statusCode).toBe(503);
    await own.close();
  });
});
