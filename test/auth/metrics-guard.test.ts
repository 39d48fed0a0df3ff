import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIpAllowlist } from '../../src/auth/index.js';
import { createTestApp, type TestApp } from '../support/app.js';

describe('IP allowlist', () => {
  const allowed = createIpAllowlist(['127.0.0.1', '10.0.0.0/8', '::1', 'fd00::/8']);
  it.each([
    ['127.0.0.1', true],
    ['10.20.30.40', true],
    ['::ffff:10.1.2.3', true],
    ['::1', true],
    ['fd12:3456::1', true],
    ['11.0.0.1', false],
    ['192.168.1.1', false],
    ['2001:db8::1', false],
    ['not-an-ip', false],
  ])('%s -> %s', (address, expected) => {
    expect(allowed(address)).toBe(expected);
  });

  it('rejects a malformed entry at start-up', () => {
    expect(() => createIpAllowlist(['10.0.0.0/33'])).toThrow(/PROMETHEUS_ALLOWED_IPS/);
    expect(() => createIpAllowlist(['example.com'])).toThrow(/PROMETHEUS_ALLOWED_IPS/);
  });
});

describe('/metrics guard through HTTP', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { PROMETHEUS_ALLOWED_IPS: '127.0.0.1,10.0.0.0/8', METRICS_BASIC_AUTH: 'prom:s3cret-pass' } });
  });
  afterAll(async () => t.close());
  const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;
  const scrape = (remoteAddress: string, authorization?: string) =>
    t.app.inject({ method: 'GET', url: '/metrics', remoteAddress, headers: authorization === undefined ? {} : { authorization } });

  it('serves a listed IP and a CIDR member with the right credentials', async () => {
    for (const address of ['127.0.0.1', '10.9.8.7']) {
      const response = await scrape(address, basic('prom:s3cret-pass'));
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toContain('text/plain');
    }
  });

  it('refuses an address outside the list with 403, whatever the credentials', async () => {
    const response = await scrape('192.168.0.10', basic('prom:s3cret-pass'));
    expect(response.statusCode).toBe(403);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('FORBIDDEN');
  });

  it('asks for Basic auth with WWW-Authenticate when credentials are missing or wrong', async () => {
    for (const authorization of [undefined, basic('prom:wrong'), basic('other:s3cret-pass'), 'Bearer x']) {
      const response = await scrape('127.0.0.1', authorization);
      expect(response.statusCode).toBe(401);
      expect(response.headers['www-authenticate']).toMatch(/^Basic realm="metrics"/);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('UNAUTHENTICATED');
    }
  });
});
