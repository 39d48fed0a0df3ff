import { describe, expect, it } from 'vitest';
import { categorize, CheckTimeoutError, withTimeout } from '../../src/health/check-result.js';
import { kafkaChecker, runDependencyCheck } from '../../src/health/dependency.checkers.js';
import { mongodbChecker } from '../../src/health/mongodb.checker.js';
import { unusedPort } from '../support/health.js';

const now = () => new Date();

describe('dependency checkers against real sockets', () => {
  it('reports a Kafka broker that refuses connections as unhealthy / refused', async () => {
    const port = await unusedPort();
    const result = await runDependencyCheck(kafkaChecker([`127.0.0.1:${port}`], 1500), 3000, now);
    expect(result).toMatchObject({ name: 'kafka', kind: 'dependency', status: 'unhealthy', latency_ms: null, error: { category: 'refused' } });
    expect(JSON.stringify(result)).not.toContain(String(port));
  });

  it('reports a MongoDB that refuses connections as refused, and an unknown host as dns', async () => {
    const port = await unusedPort();
    const refused = mongodbChecker(`mongodb://127.0.0.1:${port}/admin`, 1500);
    const dns = mongodbChecker('mongodb://no-such-host.invalid:27017/admin', 1500);
    try {
      expect(await runDependencyCheck(refused, 1500, now)).toMatchObject({ status: 'unhealthy', error: { category: 'refused' } });
      expect(await runDependencyCheck(dns, 1500, now)).toMatchObject({ status: 'unhealthy', error: { category: 'dns' } });
    } finally {
      await refused.close?.();
      await dns.close?.();
    }
  });

  it('times out a probe that never settles', async () => {
    const result = await runDependencyCheck({ name: 'stuck', probe: () => new Promise(() => undefined) }, 50, now);
    expect(result).toMatchObject({ status: 'unhealthy', error: { category: 'timeout', message: 'no answer within the timeout' } });
    await expect(withTimeout(new Promise(() => undefined), 10)).rejects.toBeInstanceOf(CheckTimeoutError);
  });
});

describe('error categories', () => {
  it('reads codes, names and status codes along the cause chain', () => {
    const nested = (code: string) => Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('inner'), { code }) });
    expect(categorize(nested('ECONNREFUSED'))).toBe('refused');
    expect(categorize(nested('ENOTFOUND'))).toBe('dns');
    expect(categorize(nested('EAI_AGAIN'))).toBe('dns');
    expect(categorize(Object.assign(new Error('The operation was aborted due to timeout'), { name: 'TimeoutError' }))).toBe('timeout');
    expect(categorize(Object.assign(new Error('Authentication failed.'), { name: 'MongoServerError', code: 18 }))).toBe('auth');
    expect(categorize(Object.assign(new Error('security_exception'), { name: 'ResponseError', meta: { statusCode: 401 } }))).toBe('auth');
    expect(categorize(Object.assign(new Error('boom'), { name: 'ResponseError', meta: { statusCode: 500 } }))).toBe('bad_response');
    expect(categorize(Object.assign(new Error('not elasticsearch'), { name: 'ProductNotSupportedError' }))).toBe('bad_response');
    expect(categorize(new Error('something else'))).toBe('unknown');
  });
});
