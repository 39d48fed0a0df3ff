import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { describeDevelopmentSecrets, resolveSecrets } from '../src/auth/dev-secrets.js';
import { loadConfig } from '../src/config.js';
import { TEST_DATABASE_URL } from './support/env.js';

const dataDir = mkdtempSync(join(tmpdir(), 'monitoring-main-'));
const started: ChildProcess[] = [];
afterAll(() => {
  // A failed assertion must not leave the service running after the suite.
  for (const child of started) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('the process entry', () => {
  it.skipIf(TEST_DATABASE_URL === undefined)(
    'exits 78 with the reason, not a stack, when the container finds a bad configuration: production logged in as a superuser (PostgreSQL only)',
    async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        env: {
          PATH: process.env['PATH'],
          NODE_ENV: 'production',
          PORT: '0',
          HOST: '127.0.0.1',
          LOG_LEVEL: 'silent',
          DATA_DIR: dataDir,
          // The test server's owner login: a superuser, which production refuses after migrating.
          DATABASE_URL: TEST_DATABASE_URL,
          JWT_SECRET: 'j'.repeat(40),
          INTERNAL_HMAC_SECRET: 'h'.repeat(40),
          RECEIVER_SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      started.push(child);
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
      expect(code, stderr).toBe(78);
      expect(stderr).toMatch(/DATABASE_URL logs in as \S+, a superuser/);
      expect(stderr).not.toContain('Failed to start');
    },
    120_000,
  );

  it('starts on the embedded defaults, prints a working admin token and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env['PATH'], PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.push(child);
    let output = '';
    // Waits for the banner and the address (or the process's end), however long a loaded machine takes: only the test's timeout bounds it.
    let bannerShown: () => void = () => undefined;
    const banner = new Promise<void>((resolve) => (bannerShown = resolve));
    const collect = (chunk: Buffer) => {
      output += chunk.toString();
      if (/Admin token[^\n]*\n\n\s+\S+\s/.test(output) && /listening at http:\/\/127\.0\.0\.1:\d+/.test(output)) bannerShown();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

    await Promise.race([banner, exited]);
    const port = /listening at http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
    const token = /Admin token[^\n]*\n\n\s+(\S+)/.exec(output)?.[1];
    expect(port, output).toBeDefined();
    expect(token, output).toBeDefined();
    expect(output).toContain(`Development mode: secrets generated and kept in ${join(dataDir, 'dev-secrets.json')}.`);

    const status = await fetch(`http://127.0.0.1:${port ?? ''}/status`);
    expect(status.status).toBe(200);
    const docs = await fetch(`http://127.0.0.1:${port ?? ''}/docs/json`);
    expect(docs.status).toBe(200);
    const metrics = await fetch(`http://127.0.0.1:${port ?? ''}/api/v1/monitoring/metrics`, { headers: { authorization: `Bearer ${token ?? ''}` } });
    expect(metrics.status).toBe(200);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);

  it('says secrets were generated only on the start that generated them (every start said so)', () => {
    const secretsDir = mkdtempSync(join(tmpdir(), 'monitoring-secrets-'));
    try {
      const config = loadConfig({ DATA_DIR: secretsDir });
      const first = resolveSecrets(config);
      const second = resolveSecrets(config);
      expect(first.development).toEqual({ state: 'generated', file: join(secretsDir, 'dev-secrets.json') });
      expect(second.development).toEqual({ state: 'read', file: join(secretsDir, 'dev-secrets.json') });
      expect(second.jwtSecret).toBe(first.jwtSecret);
      expect(describeDevelopmentSecrets({ state: 'read', file: '/d/dev-secrets.json' })).toBe('secrets read from /d/dev-secrets.json');
      expect(describeDevelopmentSecrets({ state: 'generated', file: '/d/dev-secrets.json' })).toBe('secrets generated and kept in /d/dev-secrets.json');
      const fromEnvironment = resolveSecrets(loadConfig({ DATA_DIR: secretsDir, JWT_SECRET: 'j'.repeat(40), INTERNAL_HMAC_SECRET: 'h'.repeat(40), RECEIVER_SECRETS_KEY: Buffer.alloc(32, 7).toString('base64') }));
      expect(fromEnvironment.development).toBeUndefined();
    } finally {
      rmSync(secretsDir, { recursive: true, force: true });
    }
  });
});
