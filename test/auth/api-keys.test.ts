import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, listenOnLoopback, newTenant, type TestApp } from '../support/app.js';
import { TEST_HMAC_SECRET, TEST_JWT_SECRET } from '../support/env.js';

const KEYS = '/api/v1/monitoring/api-keys';
const METRICS = '/api/v1/monitoring/metrics';
const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

let t: TestApp;
let base = '';
beforeAll(async () => {
  t = await createTestApp({ env: { LIMIT_API_KEYS: '3' } });
  base = await listenOnLoopback(t);
}, 180_000);
afterAll(async () => t.close());

interface Created {
  key: string;
  data: { id: string; name: string; prefix: string; scopes: string[]; state: string; last_used_at: string | null };
}

async function createKey(tenantId: string, body: Record<string, unknown>): Promise<Created> {
  const response = await t.app.inject({ method: 'POST', url: KEYS, headers: await bearer(tenantId), payload: body });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<Created>();
}

const basic = (key: string) => `Basic ${Buffer.from(`prometheus:${key}`).toString('base64')}`;
const push = (authorization: string, name: string) => t.app.inject({ method: 'POST', url: METRICS, headers: { authorization }, payload: { metrics: [{ name, service: 'keys', value: 1 }] } });
const read = (authorization: string, name: string) => t.app.inject({ method: 'GET', url: `${METRICS}?name=${name}`, headers: { authorization } });

describe('API keys', () => {
  it('shows a new key once, lists it by its prefix only, and stores only its SHA-256', async () => {
    const tenant = newTenant();
    const created = await createKey(tenant, { name: 'prometheus-eu-1', scopes: ['ingest', 'read'] });
    expect(created.key).toMatch(/^mon_[A-Za-z0-9_-]{32}$/);
    expect(created.data).toMatchObject({ name: 'prometheus-eu-1', scopes: ['ingest', 'read'], state: 'active', prefix: created.key.slice(0, 12) });
    const listed = await t.app.inject({ method: 'GET', url: KEYS, headers: await bearer(tenant) });
    expect(listed.statusCode).toBe(200);
    expect(listed.body).not.toContain(created.key);
    expect(listed.json<{ data: Array<{ id: string; prefix: string }> }>().data).toEqual([expect.objectContaining({ id: created.data.id, prefix: created.key.slice(0, 12) })]);
    const stored = await t.container.db.withTenant(tenant, (tx) => tx.query<Record<string, unknown>>('SELECT * FROM api_keys WHERE id = $1', [created.data.id]));
    const row = stored.rows[0] ?? {};
    expect(row['key_hash']).toBe(createHash('sha256').update(created.key).digest('hex'));
    expect(JSON.stringify(row)).not.toContain(created.key);
  });

  it('works as a bearer token and as the Basic password, within its scopes and its tenant only', async () => {
    const tenant = newTenant();
    const other = newTenant();
    const ingest = (await createKey(tenant, { name: 'writer', scopes: ['ingest'] })).key;
    const reader = (await createKey(tenant, { name: 'grafana', scopes: ['read'] })).key;
    expect((await push(basic(ingest), 'keyed_pushes')).statusCode).toBe(202);
    expect((await push(`Bearer ${ingest}`, 'keyed_pushes')).statusCode).toBe(202);
    const rows = await read(`Bearer ${reader}`, 'keyed_pushes');
    expect(rows.statusCode, rows.body).toBe(200);
    expect(rows.json<{ data: unknown[] }>().data).toHaveLength(2);
    // Out of scope: the writer cannot read, the reader cannot push, neither can manage keys.
    const refused = await read(`Bearer ${ingest}`, 'keyed_pushes');
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ error: { code: 'FORBIDDEN', details: { required_scope: 'read', scopes: ['ingest'] } } });
    expect((await push(basic(reader), 'keyed_pushes')).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'GET', url: KEYS, headers: { authorization: `Bearer ${reader}` } })).statusCode).toBe(403);
    // The tenant is the key's: another tenant's header changes nothing, and that tenant sees nothing.
    const crafted = await t.app.inject({ method: 'POST', url: METRICS, headers: { authorization: `Bearer ${ingest}`, 'x-tenant-id': other }, payload: { metrics: [{ name: 'keyed_pushes', service: 'keys', value: 1 }] } });
    expect(crafted.statusCode).toBe(202);
    expect((await read((await bearer(other)).authorization, 'keyed_pushes')).json<{ data: unknown[] }>().data).toHaveLength(0);
    expect((await read(`Bearer ${reader}`, 'keyed_pushes')).json<{ data: unknown[] }>().data).toHaveLength(3);
  });

  it('refuses a revoked key at once, replaces a rotated one, and refuses an expired one, each with its reason', async () => {
    const tenant = newTenant();
    const revoked = await createKey(tenant, { name: 'old', scopes: ['read'] });
    expect((await read(`Bearer ${revoked.key}`, 'x')).statusCode).toBe(200);
    const revoke = await t.app.inject({ method: 'DELETE', url: `${KEYS}/${revoked.data.id}`, headers: await bearer(tenant) });
    expect(revoke.json()).toMatchObject({ data: { state: 'revoked' } });
    expect((await read(`Bearer ${revoked.key}`, 'x')).json()).toMatchObject({ error: { code: 'UNAUTHENTICATED', details: { reason: 'revoked' } } });

    const rotating = await createKey(tenant, { name: 'rotating', scopes: ['read'] });
    const rotated = await t.app.inject({ method: 'POST', url: `${KEYS}/${rotating.data.id}/rotate`, headers: await bearer(tenant) });
    expect(rotated.statusCode, rotated.body).toBe(201);
    const replacement = rotated.json<Created>();
    expect(replacement.data).toMatchObject({ name: 'rotating', scopes: ['read'], state: 'active' });
    expect((await read(`Bearer ${rotating.key}`, 'x')).statusCode).toBe(401);
    expect((await read(`Bearer ${replacement.key}`, 'x')).statusCode).toBe(200);

    const expiring = await createKey(tenant, { name: 'short', scopes: ['read'], expires_at: new Date(Date.now() + 1_000).toISOString() });
    expect((await read(`Bearer ${expiring.key}`, 'x')).statusCode).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await read(`Bearer ${expiring.key}`, 'x')).json()).toMatchObject({ error: { code: 'UNAUTHENTICATED', details: { reason: 'expired' } } });
    expect((await read('Bearer mon_notakeyatall', 'x')).json()).toMatchObject({ error: { code: 'UNAUTHENTICATED', details: { reason: 'unknown_key' } } });
  });

  it('refuses bad requests with 400 and the key past LIMIT_API_KEYS with 429, creating nothing', async () => {
    const tenant = newTenant();
    const headers = await bearer(tenant);
    for (const payload of [{ name: 'x', scopes: [] }, { name: 'x', scopes: ['write'] }, { name: '', scopes: ['read'] }, { name: 'x', scopes: ['read'], expires_at: '2001-01-01T00:00:00Z' }]) {
      const response = await t.app.inject({ method: 'POST', url: KEYS, headers, payload });
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
    }
    for (const name of ['a', 'b', 'c']) await createKey(tenant, { name, scopes: ['read'] });
    const refused = await t.app.inject({ method: 'POST', url: KEYS, headers, payload: { name: 'd', scopes: ['read'] } });
    expect(refused.statusCode).toBe(429);
    expect(refused.json()).toMatchObject({ error: { code: 'RATE_LIMITED', details: { limit: 'api_keys', value: 3, current: 3 } } });
    const listed = await t.app.inject({ method: 'GET', url: KEYS, headers });
    expect(listed.json<{ data: unknown[] }>().data).toHaveLength(3);
    // A viewer may not manage keys.
    expect((await t.app.inject({ method: 'GET', url: KEYS, headers: await bearer(tenant, ['viewer']) })).statusCode).toBe(403);
  });
});

describe('node dist/cli.js api-key', () => {
  const run = promisify(execFile);
  const env = { PATH: process.env['PATH'] ?? '', NODE_ENV: 'test', DATA_DIR: 'memory://', JWT_SECRET: TEST_JWT_SECRET, INTERNAL_HMAC_SECRET: TEST_HMAC_SECRET };
  const cliRun = (args: string[]) => run(process.execPath, ['--import', 'tsx', cli, 'api-key', ...args, '--url', base], { env, timeout: 30_000 });

  it('creates, lists, rotates and revokes a key of a tenant through the running service, signed with its HMAC secret', async () => {
    const tenant = newTenant();
    const created = await cliRun(['create', '--tenant', tenant, '--scope', 'ingest', '--scope', 'read', '--name', 'from-cli']);
    const key = created.stdout.trim();
    expect(key).toMatch(/^mon_/);
    expect(created.stderr).toContain('"name":"from-cli"');
    expect((await push(`Bearer ${key}`, 'cli_pushes')).statusCode).toBe(202);
    const listed = JSON.parse((await cliRun(['list', '--tenant', tenant])).stdout) as Array<{ id: string; created_by: string }>;
    expect(listed).toEqual([expect.objectContaining({ created_by: 'service:monitoring-service' })]);
    const id = listed[0]?.id ?? '';
    const rotatedKey = (await cliRun(['rotate', '--tenant', tenant, '--id', id])).stdout.trim();
    expect((await push(`Bearer ${key}`, 'cli_pushes')).statusCode).toBe(401);
    expect((await push(`Bearer ${rotatedKey}`, 'cli_pushes')).statusCode).toBe(202);
    const newId = (JSON.parse((await cliRun(['list', '--tenant', tenant])).stdout) as Array<{ id: string; state: string }>).find((row) => row.state === 'active')?.id ?? '';
    await cliRun(['revoke', '--tenant', tenant, '--id', newId]);
    expect((await push(`Bearer ${rotatedKey}`, 'cli_pushes')).statusCode).toBe(401);
  }, 60_000);

  it('answers bad arguments with the usage and exit 2', async () => {
    await expect(cliRun(['create', '--tenant', newTenant()])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('--scope is required') });
    await expect(cliRun(['grant', '--tenant', newTenant()])).rejects.toMatchObject({ code: 2 });
  });
});
