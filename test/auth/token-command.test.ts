import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwtKeyFrom, verifyUserToken } from '../../src/auth/index.js';
import { parseTokenArguments, parseTtl, TokenUsageError } from '../../src/auth/token-command.js';
import { createTestApp, newTenant, type TestApp } from '../support/app.js';
import { TEST_JWT_SECRET } from '../support/env.js';

const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
const ISSUER = 'https://login.example.test';
const METRICS = '/api/v1/monitoring/metrics';

interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `node dist/cli.js token ...` as a person runs it, with only the environment given here. */
function runToken(args: readonly string[], env: Record<string, string>): CliRun {
  const result = spawnSync(process.execPath, ['--import', 'tsx', cli, 'token', ...args], { env: { PATH: process.env['PATH'] ?? '', ...env }, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The service's configuration in tests, as the command reads it. */
const testSecrets = { NODE_ENV: 'test', DATA_DIR: 'memory://', JWT_SECRET: TEST_JWT_SECRET, JWT_ISSUER: ISSUER };

function issued(run: CliRun): string {
  expect(run.stderr).toMatch(/^token: expires /);
  expect(run.status).toBe(0);
  const token = run.stdout.trim();
  expect(token.split('.')).toHaveLength(3);
  return token;
}

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { JWT_ISSUER: ISSUER } });
});
afterAll(async () => t.close());

const bearerOf = (token: string) => ({ authorization: `Bearer ${token}` });

describe('node dist/cli.js token', () => {
  it('prints a viewer token that the service accepts for reads, Grafana included, and refuses for writes', async () => {
    const tenant = newTenant();
    const token = issued(runToken(['--tenant', tenant, '--role', 'viewer', '--ttl', '30d', '--subject', 'grafana'], testSecrets));

    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ tenant_id: tenant, roles: ['viewer'], sub: 'grafana', iss: ISSUER });
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(30 * 86_400);

    const read = await t.app.inject({ method: 'GET', url: METRICS, headers: bearerOf(token) });
    expect(read.statusCode).toBe(200);
    const grafana = await t.app.inject({ method: 'GET', url: '/grafana', headers: bearerOf(token) });
    expect(grafana.statusCode).toBe(200);

    const write = await t.app.inject({ method: 'POST', url: METRICS, headers: { ...bearerOf(token), 'content-type': 'application/json' }, payload: { name: 'orders', service: 'ticket', value: 1 } });
    expect(write.statusCode).toBe(403);
    expect(write.json<{ error: { code: string } }>().error.code).toBe('FORBIDDEN');
  });

  it('gives every role asked for, repeated or comma separated: viewer plus monitoring may push', async () => {
    const tenant = newTenant();
    const token = issued(runToken(['--tenant', tenant, '--role', 'viewer', '--role', 'monitoring,viewer'], testSecrets));
    expect(decodeJwt(token)).toMatchObject({ roles: ['viewer', 'monitoring'], sub: 'token-cli' });
    const write = await t.app.inject({ method: 'POST', url: METRICS, headers: { ...bearerOf(token), 'content-type': 'application/json' }, payload: { name: 'orders', service: 'ticket', value: 1 } });
    expect(write.statusCode).toBe(202);
  });

  it('in development without JWT_SECRET signs with the secret the service generates under DATA_DIR', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'token-cli-'));
    try {
      const tenant = newTenant();
      const token = issued(runToken(['--tenant', tenant, '--role', 'operator'], { DATA_DIR: dataDir }));
      const { jwtSecret } = JSON.parse(readFileSync(join(dataDir, 'dev-secrets.json'), 'utf8')) as { jwtSecret: string };
      const principal = await verifyUserToken(token, jwtKeyFrom({ secret: jwtSecret }));
      expect(principal).toMatchObject({ tenantId: tenant, roles: ['operator'] });
      const claims = decodeJwt(token);
      expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(12 * 3_600);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses in production with a clear message, a non-zero exit and no token', () => {
    const run = runToken(['--tenant', newTenant(), '--role', 'viewer'], { ...testSecrets, NODE_ENV: 'production' });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('refused: NODE_ENV=production');
  });

  it('refuses where the service takes only RS256 tokens of an identity provider', () => {
    const run = runToken(['--tenant', newTenant(), '--role', 'viewer'], { ...testSecrets, JWT_PUBLIC_KEY: 'not read: the refusal comes first' });
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('JWT_PUBLIC_KEY is set');
  });

  it.each([
    ['a tenant that is not a UUID', ['--tenant', 'acme', '--role', 'viewer'], '--tenant must be a UUID'],
    ['an unknown role', ['--tenant', '00000000-0000-4000-8000-000000000001', '--role', 'root'], 'unknown role "root": roles are admin, operator, monitoring, viewer'],
    ['a ttl without unit', ['--tenant', '00000000-0000-4000-8000-000000000001', '--role', 'viewer', '--ttl', '30'], '--ttl must be a whole number followed by s, m, h or d'],
    ['an unknown option', ['--tenant', '00000000-0000-4000-8000-000000000001', '--role', 'viewer', '--tenat', 'x'], "Unknown option '--tenat'"],
  ])('answers %s with the reason, the usage and exit 2', (_case, args, reason) => {
    const run = runToken(args, testSecrets);
    expect(run.stderr).toContain(reason);
    expect(run.stderr).toContain('usage: node dist/cli.js token --tenant <uuid>');
    expect(run.stdout).toBe('');
    expect(run.status).toBe(2);
  });
});

describe('token arguments', () => {
  const tenant = '00000000-0000-4000-8000-000000000001';

  it('reads spans in seconds, minutes, hours and days up to a year', () => {
    expect(['90s', '15m', '12h', '30d', '365d'].map(parseTtl)).toEqual([90, 900, 43_200, 2_592_000, 31_536_000]);
  });

  it.each(['', '0d', '-1d', '1.5h', '30 d', '1w', '366d', 'd'])('refuses the ttl %j', (ttl) => {
    expect(() => parseTtl(ttl)).toThrow(TokenUsageError);
  });

  it('requires a tenant and a role, and keeps each role once', () => {
    expect(() => parseTokenArguments(['--role', 'viewer'])).toThrow('--tenant <uuid> is required');
    expect(() => parseTokenArguments(['--tenant', tenant])).toThrow('--role is required');
    expect(() => parseTokenArguments(['--tenant', tenant, '--role', 'viewer', 'extra'])).toThrow(TokenUsageError);
    expect(() => parseTokenArguments(['--tenant', tenant, '--role', 'viewer', '--subject', ' '])).toThrow('--subject');
    expect(parseTokenArguments(['--tenant', tenant.toUpperCase(), '--role', 'admin,viewer', '--role', 'admin'])).toEqual({ tenantId: tenant, roles: ['admin', 'viewer'], ttlSeconds: 43_200, subject: 'token-cli' });
  });
});
