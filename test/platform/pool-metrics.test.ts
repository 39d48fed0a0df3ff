import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { registerPoolMetrics } from '../../src/platform/db/index.js';
import { createTestApp } from '../support/app.js';

describe('PostgreSQL pool on /metrics', () => {
  it('postgres_pool_waiting, _total and _idle are read from the pool at scrape time', async () => {
    const registry = new Registry();
    let waiting = 0;
    registerPoolMetrics(registry, { kind: 'postgres', poolStats: () => ({ total: 10, idle: 0, waiting }) });
    waiting = 7;
    const text = await registry.metrics();
    expect(text).toContain('# TYPE postgres_pool_waiting gauge');
    expect(text).toMatch(/^postgres_pool_waiting 7$/m);
    expect(text).toMatch(/^postgres_pool_connections 10$/m);
    expect(text).toMatch(/^postgres_pool_idle 0$/m);
  });

  it('the embedded database has no pool: no pool gauges', async () => {
    const registry = new Registry();
    registerPoolMetrics(registry, { kind: 'pglite', poolStats: () => ({ total: 1, idle: 1, waiting: 0 }) });
    expect(await registry.metrics()).not.toContain('postgres_pool');
  });

  it('the app registers them on the registry /metrics serves when it runs on PostgreSQL (the README said so before it was true)', async () => {
    const testApp = await createTestApp();
    try {
      const text = await testApp.container.registry.metrics();
      if (testApp.container.db.kind === 'postgres') expect(text).toMatch(/^postgres_pool_waiting \d+$/m);
      else expect(text).not.toContain('postgres_pool_waiting');
    } finally {
      await testApp.close();
    }
  }, 60_000);
});
