import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cached, createMemoryCache, createRedisCache, type Cache } from '../../src/platform/cache/index.js';
import { TEST_REDIS_URL } from '../support/env.js';

const adapters: Array<[string, () => Cache]> = [['memory', () => createMemoryCache()]];
const redisUrl = TEST_REDIS_URL;
if (redisUrl !== undefined) adapters.push(['redis', () => createRedisCache(redisUrl, `cache-contract-${process.pid}:`)]);

describe.each(adapters)('Cache contract on %s', (_kind, make) => {
  let cache: Cache;
  beforeAll(() => {
    cache = make();
  });
  afterAll(async () => {
    await cache.deletePrefix('');
    await cache.close();
  });

  it('stores, reads and expires values', async () => {
    await cache.set('a', '1', 60_000);
    expect(await cache.get('a')).toBe('1');
    await cache.set('short', 'x', 20);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(await cache.get('short')).toBeNull();
  });

  it('concurrent misses of one key share one load; a failed load is not cached and the next call loads again', async () => {
    let loads = 0;
    const slow = async () => {
      loads += 1;
      await new Promise((resolve) => setTimeout(resolve, 30));
      return { n: loads };
    };
    const answers = await Promise.all(Array.from({ length: 5 }, () => cached(cache, 'single-flight', 60_000, slow)));
    expect(loads).toBe(1);
    expect(answers).toEqual(Array.from({ length: 5 }, () => ({ n: 1 })));
    await expect(cached(cache, 'fails', 60_000, async () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cached(cache, 'fails', 60_000, async () => 'up')).toBe('up');
  });

  it('sets a key only when absent', async () => {
    expect(await cache.setIfAbsent('nonce', '1', 60_000)).toBe(true);
    expect(await cache.setIfAbsent('nonce', '2', 60_000)).toBe(false);
    expect(await cache.get('nonce')).toBe('1');
  });

  it('counts and deletes by prefix', async () => {
    expect(await cache.increment('hits', 60_000)).toBe(1);
    expect(await cache.increment('hits', 60_000)).toBe(2);
    await cache.set('dash:1', 'a', 60_000);
    await cache.set('dash:2', 'b', 60_000);
    expect(await cache.deletePrefix('dash:')).toBe(2);
    expect(await cache.get('dash:1')).toBeNull();
  });

  it('reads through with cached() and counts hits and misses', async () => {
    let loads = 0;
    const load = async () => {
      loads += 1;
      return { n: 42 };
    };
    expect(await cached(cache, 'rt', 60_000, load)).toEqual({ n: 42 });
    expect(await cached(cache, 'rt', 60_000, load)).toEqual({ n: 42 });
    expect(loads).toBe(1);
    const stats = await cache.stats();
    expect(stats.hits).toBeGreaterThan(0);
    expect(stats.misses).toBeGreaterThan(0);
  });
});
