import { describe, expect, it } from 'vitest';
import { createTenantGate } from '../../src/platform/http/tenant-gate.js';

describe('tenant gate: a tenant takes turns, other tenants are not queued behind it', () => {
  it('runs at most maxRunning requests of a tenant, queues the next in order, refuses past maxWaiting', async () => {
    const gate = createTenantGate({ maxRunning: 2, maxWaiting: 1 });
    expect(await gate.enter('a')).toBe(true);
    expect(await gate.enter('a')).toBe(true);
    let thirdRan = false;
    const third = gate.enter('a').then((entered) => {
      thirdRan = entered;
    });
    expect(await gate.enter('a')).toBe(false); // the queue of one is full
    expect(await gate.enter('b')).toBe(true); // another tenant goes at once
    await Promise.resolve();
    expect(thirdRan).toBe(false);
    gate.leave('a');
    await third;
    expect(thirdRan).toBe(true);
    expect(gate.running('a')).toBe(2);
    gate.leave('a');
    gate.leave('a');
    expect(gate.running('a')).toBe(0);
  });
});
