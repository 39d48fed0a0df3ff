import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModelStore } from '../../src/ml/index.js';
import { ManualClock } from '../../src/platform/clock.js';
import { createTestApp, newTenant, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

const artifacts = { topology: { class_name: 'Sequential', config: { layers: [] } }, weightSpecs: [], weights: new Uint8Array([1, 2, 3]) };

describe('model store across instances', () => {
  it('sees a model another instance trained once its refresh period has passed, and knows a missing one without asking again', async () => {
    const clock = new ManualClock(Date.UTC(2026, 0, 1));
    const here = createModelStore(t.container.db, { clock, refreshMs: 60_000 });
    const elsewhere = createModelStore(t.container.db, { clock, refreshMs: 60_000 });
    const tenant = newTenant();
    expect(await here.latest(tenant, 'fraud', '')).toBeUndefined();

    await elsewhere.save(tenant, { kind: 'fraud', key: '', artifacts, params: {}, metrics: {}, trainedAt: clock.now() });
    clock.advance(30_000);
    expect(await here.latest(tenant, 'fraud', '')).toBeUndefined();
    clock.advance(31_000);
    const picked = await here.latest(tenant, 'fraud', '');
    expect(picked?.version).toBe(1);
    expect(Array.from(picked?.artifacts.weights ?? [])).toEqual([1, 2, 3]);

    await elsewhere.save(tenant, { kind: 'fraud', key: '', artifacts, params: {}, metrics: {}, trainedAt: clock.now() });
    clock.advance(61_000);
    expect((await here.latest(tenant, 'fraud', ''))?.version).toBe(2);
    expect(here.cached(tenant, 'fraud', '')?.version).toBe(2);
  });
});
