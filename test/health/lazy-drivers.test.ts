import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../support/app.js';
import { freePort } from '../support/private-postgres.js';

/**
 * The MongoDB driver, the Elasticsearch client and pdfkit (about 50 MiB of RSS together) load
 * when a configured dependency is first checked or a first PDF is made, not at start. Node loads
 * them as CommonJS, so a load shows in this process's require cache.
 */
const loaded = (): string[] => {
  const paths = Object.keys(createRequire(import.meta.url).cache);
  return ['/node_modules/mongodb/', '/node_modules/@elastic/elasticsearch/', '/node_modules/pdfkit/'].filter((module) => paths.some((path) => path.includes(module)));
};

let t: TestApp;
beforeAll(async () => {
  const refused = await freePort();
  t = await createTestApp({ env: { MONGODB_URL: `mongodb://127.0.0.1:${refused}/admin`, HEALTH_DEPENDENCY_TIMEOUT_MS: '1500', HEALTH_RESULT_MAX_AGE_MS: '0' } });
}, 180_000);
afterAll(async () => t.close());

describe('drivers of optional dependencies', () => {
  it('are not loaded by an app at rest; a configured MongoDB loads its driver when first checked, and is reported as refused, not timed out', async () => {
    expect(loaded()).toEqual([]);
    const response = await t.app.inject({ method: 'GET', url: '/health/dependencies' });
    const mongodb = response.json<{ dependencies: Array<{ name: string; status: string; error: { category: string } | null }> }>().dependencies.find((dependency) => dependency.name === 'mongodb');
    expect(mongodb).toMatchObject({ status: 'unhealthy', error: { category: 'refused' } });
    expect(loaded()).toEqual(['/node_modules/mongodb/']);
  });
});
