import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
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
});
