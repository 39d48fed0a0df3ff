import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, importPKCS8 } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, newTenant, tokenFor, type TestApp } from '../support/app.js';

const URL_METRICS = '/api/v1/monitoring/metrics';
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

const get = (headers: Record<string, string>) => t.app.inject({ method: 'GET', url: URL_METRICS, headers });
const errorOf = (body: string) => (JSON.parse(body) as { error: { code: string; details?: { reason?: string } } }).error;

describe('user tokens', () => {
  it('refuses a request without a token with 401 UNAUTHENTICATED', async () => {
    const response = await get({});
    expect(response.statusCode).toBe(401);
    expect(errorOf(response.body)).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'missing' } });
  });

  it('refuses an expired token', async () => {
    const token = await tokenFor(newTenant(), ['viewer'], { expiresIn: Math.floor(Date.now() / 1000) - 10 });
    const response = await get({ authorization: `Bearer ${token}` });
    expect(response.statusCode).toBe(401);
    expect(errorOf(response.body)).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'expired' } });
  });

  it('refuses a token signed with another secret', async () => {
    const token = await tokenFor(newTenant(), ['admin'], { secret: 'another-secret-another-secret-another-secret' });
    const response = await get({ authorization: `Bearer ${token}` });
    expect(response.statusCode).toBe(401);
    expect(errorOf(response.body)).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'bad_signature' } });
  });

  it('refuses a token whose tenant or roles are not valid', async () => {
    const badTenant = await new SignJWT({ tenant_id: 'not-a-uuid', roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('test-jwt-secret-that-is-long-enough-0123456789'));
    expect((await get({ authorization: `Bearer ${badTenant}` })).statusCode).toBe(401);
    const badRole = await new SignJWT({ tenant_id: newTenant(), roles: ['root'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('x')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('test-jwt-secret-that-is-long-enough-0123456789'));
    expect((await get({ authorization: `Bearer ${badRole}` })).statusCode).toBe(401);
  });

  it('lets any role read but only admin or monitoring push (403 FORBIDDEN otherwise), and writes nothing on refusal', async () => {
    const tenant = newTenant();
    const viewer = `Bearer ${await tokenFor(tenant, ['viewer'])}`;
    expect((await get({ authorization: viewer })).statusCode).toBe(200);
    const refused = await t.app.inject({ method: 'POST', url: URL_METRICS, headers: { authorization: viewer }, payload: { name: 'x', service: 's', value: 1 } });
    expect(refused.statusCode).toBe(403);
    expect(errorOf(refused.body).code).toBe('FORBIDDEN');
    const monitoring = `Bearer ${await tokenFor(tenant, ['monitoring'])}`;
    const accepted = await t.app.inject({ method: 'POST', url: URL_METRICS, headers: { authorization: monitoring }, payload: { name: 'x', service: 's', value: 1 } });
    expect(accepted.statusCode).toBe(202);
    const rows = (await get({ authorization: viewer })).json<{ data: unknown[] }>().data;
    expect(rows).toHaveLength(1);
  });
});

describe('roles of other services in a token', () => {
  const signWithRoles = (tenant: string, roles: unknown[]) =>
    new SignJWT({ tenant_id: tenant, roles }).setProtectedHeader({ alg: 'HS256' }).setSubject('u').setExpirationTime('1h').sign(new TextEncoder().encode('test-jwt-secret-that-is-long-enough-0123456789'));

  it("an unknown extra role is ignored: ['admin', 'astronaut'] works as admin", async () => {
    const tenant = newTenant();
    const token = await signWithRoles(tenant, ['admin', 'astronaut']);
    expect((await get({ authorization: `Bearer ${token}` })).statusCode).toBe(200);
    // An admin-only route.
    const flush = await t.app.inject({ method: 'DELETE', url: '/cache/flush', headers: { authorization: `Bearer ${token}` } });
    expect(flush.statusCode).toBe(200);
  });

  it('an unknown role grants nothing: a viewer with an extra role is still refused admin routes', async () => {
    const token = await signWithRoles(newTenant(), ['viewer', 'admin-of-everything', 42]);
    expect((await get({ authorization: `Bearer ${token}` })).statusCode).toBe(200);
    const flush = await t.app.inject({ method: 'DELETE', url: '/cache/flush', headers: { authorization: `Bearer ${token}` } });
    expect(flush.statusCode).toBe(403);
    expect(errorOf(flush.body).code).toBe('FORBIDDEN');
  });

  it('a token with roles but none of ours is still refused with 401', async () => {
    const response = await get({ authorization: `Bearer ${await signWithRoles(newTenant(), ['astronaut'])}` });
    expect(response.statusCode).toBe(401);
    expect(errorOf(response.body)).toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'claims' } });
  });
});

describe('RS256 tokens', () => {
  it('accepts tokens signed by the private key of JWT_PUBLIC_KEY and refuses HS256 ones', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const rs = await createTestApp({ env: { JWT_SECRET: undefined, JWT_PUBLIC_KEY: pem } });
    try {
      const key = await importPKCS8(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'RS256');
      const token = await new SignJWT({ tenant_id: newTenant(), roles: ['viewer'] }).setProtectedHeader({ alg: 'RS256' }).setSubject('u').setExpirationTime('1h').sign(key);
      expect((await rs.app.inject({ method: 'GET', url: URL_METRICS, headers: { authorization: `Bearer ${token}` } })).statusCode).toBe(200);
      const hs = await tokenFor(newTenant(), ['viewer']);
      expect((await rs.app.inject({ method: 'GET', url: URL_METRICS, headers: { authorization: `Bearer ${hs}` } })).statusCode).toBe(401);
    } finally {
      await rs.close();
    }
  });
});
