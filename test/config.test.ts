import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig, withEnvFile } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

const RECEIVER_KEY = Buffer.alloc(32, 7).toString('base64');
const OLD_KEY = Buffer.alloc(32, 3).toString('base64');

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
};

describe('configuration', () => {
  it('has working defaults for development', () => {
    const config = loadConfig({});
    expect(config.PORT).toBe(3017);
    expect(config.USE_NEW_HMAC).toBe(true);
    expect(config.PROMETHEUS_ALLOWED_IPS).toEqual(['127.0.0.1', '::1']);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names every bad variable', () => {
    const problems = problemsOf({ PORT: 'eighty', USE_NEW_HMAC: 'maybe', DATABASE_URL: 'localhost:5432', METRICS_BASIC_AUTH: 'nocolon' });
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/USE_NEW_HMAC/);
    expect(problems.join('\n')).toMatch(/DATABASE_URL/);
    expect(problems.join('\n')).toMatch(/METRICS_BASIC_AUTH/);
  });

  it('names every bad variable at once, range and cross-variable checks included (they stopped at the first)', () => {
    const problems = problemsOf({ PORT: '70000', SLA_DEFAULT_UPTIME_TARGET: '200', LIMIT_SAMPLES_BURST: '5', BUS: 'redis' });
    expect(problems).toHaveLength(4);
    expect(problems[0]).toMatch(/^PORT: must be between 0 and 65535/);
    expect(problems.join('\n')).toMatch(/SLA_DEFAULT_UPTIME_TARGET: must be above 0 and at most 100/);
    expect(problems.join('\n')).toMatch(/LIMIT_SAMPLES_BURST: must be at least INGEST_MAX_BATCH/);
    expect(problems.join('\n')).toMatch(/BUS: BUS=redis needs REDIS_URL/);
  });

  it('reports production secrets beside the other bad variables', () => {
    const problems = problemsOf({ NODE_ENV: 'production', PORT: 'eighty' });
    expect(problems.join('\n')).toMatch(/PORT/);
    expect(problems.join('\n')).toMatch(/JWT_SECRET/);
    expect(problems.join('\n')).toMatch(/RECEIVER_SECRETS_KEY/);
  });

  it('says nothing more of a cross-variable check whose variable is already reported bad', () => {
    expect(problemsOf({ INGEST_MAX_BATCH: 'many', LIMIT_SAMPLES_BURST: '5' })).toEqual([expect.stringMatching(/^INGEST_MAX_BATCH: must be a whole number at least 1/)]);
  });

  it('names the allowed values of every choice (it said "Expected union value")', () => {
    expect(problemsOf({ BUS: 'rabbit' })).toEqual(['BUS: must be one of memory, redis, kafka (got "rabbit")']);
    expect(problemsOf({ LOG_LEVEL: 'loud' }).join('\n')).toMatch(/LOG_LEVEL: must be one of fatal, error, warn, info, debug, trace, silent/);
    expect(problemsOf({ NODE_ENV: 'prod' }).join('\n')).toMatch(/NODE_ENV: must be one of development, test, production/);
    expect(problemsOf({ USE_NEW_HMAC: 'yes' }).join('\n')).toMatch(/USE_NEW_HMAC: must be one of true, false, 1, 0/);
    expect(problemsOf({ PORT: 'eighty' }).join('\n')).toMatch(/PORT: must be a whole number between 0 and 65535/);
    expect(problemsOf({ DATABASE_URL: 'localhost:5432' }).join('\n')).toMatch(/DATABASE_URL: must be a URL/);
  });

  it('refuses unknown entries of HEALTH_REQUIRED_DEPENDENCIES (postgres was taken for postgresql)', () => {
    expect(problemsOf({ HEALTH_REQUIRED_DEPENDENCIES: 'postgres,foo' })).toEqual([
      'HEALTH_REQUIRED_DEPENDENCIES: unknown postgres, foo: each entry must be one of postgresql, redis, mongodb, elasticsearch, kafka (got "postgres,foo")',
    ]);
    expect(loadConfig({ HEALTH_REQUIRED_DEPENDENCIES: ' postgresql , mongodb' }).HEALTH_REQUIRED_DEPENDENCIES).toEqual(['postgresql', 'mongodb']);
  });

  it('listens on loopback only in development unless HOST is set (it listened on every interface)', () => {
    expect(loadConfig({}).HOST).toBe('127.0.0.1');
    expect(loadConfig({ NODE_ENV: 'test' }).HOST).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).HOST).toBe('0.0.0.0');
    const production = { NODE_ENV: 'production', JWT_SECRET: 'j'.repeat(40), INTERNAL_HMAC_SECRET: 'h'.repeat(40), RECEIVER_SECRETS_KEY: RECEIVER_KEY };
    expect(loadConfig(production).HOST).toBe('0.0.0.0');
    expect(loadConfig({ ...production, HOST: '10.0.0.5' }).HOST).toBe('10.0.0.5');
  });

  it('refuses out-of-range numbers', () => {
    expect(problemsOf({ PORT: '70000' }).join('\n')).toMatch(/PORT: must be between 0 and 65535/);
  });

  it('refuses to run in production without real secrets', () => {
    expect(problemsOf({ NODE_ENV: 'production' }).join('\n')).toMatch(/JWT_SECRET/);
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'changeme', INTERNAL_HMAC_SECRET: 'x'.repeat(40) }).join('\n')).toMatch(/JWT_SECRET/);
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'j'.repeat(40) }).join('\n')).toMatch(/INTERNAL_HMAC_SECRET/);
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'j'.repeat(40), INTERNAL_HMAC_SECRET: 'h'.repeat(40) }).join('\n')).toMatch(/RECEIVER_SECRETS_KEY/);
    expect(problemsOf({ NODE_ENV: 'production', JWT_SECRET: 'j'.repeat(40), INTERNAL_HMAC_SECRET: 'h'.repeat(40), RECEIVER_SECRETS_KEY: RECEIVER_KEY })).toEqual([]);
  });

  it('takes receiver secret keys as 32 bytes in base64 only', () => {
    expect(loadConfig({ RECEIVER_SECRETS_KEY: RECEIVER_KEY, RECEIVER_SECRETS_KEY_PREVIOUS: ` ${OLD_KEY} , ${RECEIVER_KEY}` }).RECEIVER_SECRETS_KEY_PREVIOUS).toEqual([OLD_KEY, RECEIVER_KEY]);
    expect(problemsOf({ RECEIVER_SECRETS_KEY: Buffer.alloc(16, 1).toString('base64') }).join('\n')).toMatch(/RECEIVER_SECRETS_KEY/);
    expect(problemsOf({ RECEIVER_SECRETS_KEY: 'x'.repeat(44) }).join('\n')).toMatch(/RECEIVER_SECRETS_KEY/);
    expect(problemsOf({ RECEIVER_SECRETS_KEY_PREVIOUS: `${OLD_KEY},short` }).join('\n')).toMatch(/RECEIVER_SECRETS_KEY_PREVIOUS: each key must be 32 bytes in base64/);
  });

  it('reads .env from the working directory under the real environment (it was documented, never read)', () => {
    const directory = mkdtempSync(join(tmpdir(), 'monitoring-env-'));
    try {
      expect(withEnvFile({ PORT: '1' }, directory)).toEqual({ PORT: '1' });
      writeFileSync(join(directory, '.env'), '# a comment\nPORT=4000\nLOG_LEVEL="debug"\nBUS=memory\n');
      const env = withEnvFile({ PORT: '5000', BUS: '' }, directory);
      expect(env).toEqual({ PORT: '5000', LOG_LEVEL: 'debug', BUS: '' });
      expect(loadConfig(env).LOG_LEVEL).toBe('debug');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('stops the process at start-up with a message naming the variable', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: { PATH: process.env['PATH'], PORT: 'not-a-port', DATA_DIR: 'memory://' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(78);
    expect(result.stderr).toMatch(/Invalid configuration/);
    expect(result.stderr).toMatch(/PORT/);
  });

  it('reads .env from the working directory at start-up', () => {
    const directory = mkdtempSync(join(tmpdir(), 'monitoring-env-'));
    try {
      writeFileSync(join(directory, '.env'), 'LOG_LEVEL=loud\n');
      const tsx = createRequire(join(process.cwd(), 'package.json')).resolve('tsx');
      const result = spawnSync(process.execPath, ['--import', pathToFileURL(tsx).href, join(process.cwd(), 'src/main.ts')], {
        cwd: directory,
        env: { PATH: process.env['PATH'], DATA_DIR: 'memory://' },
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(result.stderr).toMatch(/LOG_LEVEL: must be one of/);
      expect(result.status).toBe(78);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
