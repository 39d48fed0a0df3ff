import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';

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
