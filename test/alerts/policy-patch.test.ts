import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../src/alerts/policy.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';

const URL = '/api/v1/monitoring/alerts/policy';
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

interface PolicyAnswer {
  data: typeof DEFAULT_POLICY;
  updated_by: string | null;
  updated_at: string | null;
}

const patch = async (tenant: string, payload: unknown, roles: Parameters<typeof bearer>[1] = ['admin']) =>
  t.app.inject({ method: 'PATCH', url: URL, headers: { ...(await bearer(tenant, roles)), 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
const read = async (tenant: string) => (await t.app.inject({ method: 'GET', url: URL, headers: await bearer(tenant, ['viewer']) })).json<PolicyAnswer>();

const warningChain = { steps: [{ wait_seconds: 60, channels: ['webhook'] }], repeat: 0 };

// Issue 15: PUT needs the whole document and nothing said so; PATCH changes some fields.
describe('PATCH /alerts/policy', () => {
  it('changes the fields sent and keeps every other one', async () => {
    const tenant = newTenant();
    const response = await patch(tenant, { group_wait_seconds: 10, channels: ['slack'] });
    expect(response.statusCode).toBe(200);
    const expected = { ...DEFAULT_POLICY, group_wait_seconds: 10, channels: ['slack'] };
    expect(response.json<PolicyAnswer>()).toMatchObject({ data: expected, updated_by: expect.any(String) as unknown });
    expect((await read(tenant)).data).toEqual(expected);

    // A second patch merges onto the first.
    expect((await patch(tenant, { send_resolved: false })).statusCode).toBe(200);
    expect((await read(tenant)).data).toEqual({ ...expected, send_resolved: false });
  });

  it('replaces, adds or (with null) removes one severity\'s escalation chain, keeping the others', async () => {
    const tenant = newTenant();
    // `repeat` left out takes its default, as in PUT.
    expect((await patch(tenant, { escalation: { warning: { steps: warningChain.steps }, error: null } })).statusCode).toBe(200);
    const { escalation } = (await read(tenant)).data;
    expect(escalation).toEqual({ critical: DEFAULT_POLICY.escalation.critical, warning: warningChain });
  });

  it.each([
    ['an empty patch', {}, 'VALIDATION_FAILED'],
    ['an unknown field', { group_waits: 5 }, 'VALIDATION_FAILED'],
    ['a field of the wrong type', { send_resolved: 'yes' }, 'VALIDATION_FAILED'],
    ['null for a field that cannot be removed', { channels: null }, 'VALIDATION_FAILED'],
    ['an unknown channel', { channels: ['carrier-pigeon'] }, 'UNKNOWN_CHANNEL'],
    // Valid alone, not with the stored group_interval_seconds (300): the merged policy is validated.
    ['a repeat_interval shorter than the stored group_interval', { repeat_interval_seconds: 60 }, 'VALIDATION_FAILED'],
  ])('refuses %s with 400 and changes nothing', async (_what, payload, code) => {
    const tenant = newTenant();
    const response = await patch(tenant, payload);
    expect(response.statusCode).toBe(400);
    expect(response.json<{ error: { code: string } }>().error.code).toBe(code);
    expect(await read(tenant)).toEqual({ data: DEFAULT_POLICY, updated_by: null, updated_at: null });
  });

  it('needs an admin, as PUT does', async () => {
    const tenant = newTenant();
    for (const roles of [['viewer'], ['operator'], ['monitoring']] as const) {
      const response = await patch(tenant, { group_wait_seconds: 10 }, [...roles]);
      expect(response.statusCode).toBe(403);
      expect(response.json<{ error: { code: string } }>().error.code).toBe('FORBIDDEN');
    }
    expect((await read(tenant)).updated_by).toBeNull();
  });

  it('concurrent patches of different fields both land', async () => {
    const tenant = newTenant();
    const answers = await Promise.all([patch(tenant, { group_wait_seconds: 11 }), patch(tenant, { send_resolved: false }), patch(tenant, { group_by: ['service'] })]);
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200]);
    expect((await read(tenant)).data).toMatchObject({ group_wait_seconds: 11, send_resolved: false, group_by: ['service'] });
  });
});
