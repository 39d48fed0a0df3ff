import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/platform/clock.js';
import { isInternalAddress } from '../../src/platform/http/destination-guard.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { HttpReceiver, okResponder } from '../support/receivers.js';
import { putReceiver } from './fixtures.js';

// A hostile tenant must not make the service call the platform's internal network (its own admin
// endpoints, cloud metadata at 169.254.169.254) by pointing a receiver there.
const clock = new ManualClock(Date.UTC(2026, 2, 3, 9));
const platform = newTenant();
let internalHook: HttpReceiver;
let t: TestApp;

beforeAll(async () => {
  internalHook = await new HttpReceiver(okResponder).up();
  t = await createTestApp({ clock, env: { SYSTEM_TENANT_ID: platform, RECEIVER_ALLOW_PRIVATE_NETWORKS: 'false', WEBHOOK_URL: `${internalHook.url}/platform` } });
});
afterAll(async () => {
  await t.close();
  await internalHook.down();
});
beforeEach(() => internalHook.reset());

let fingerprints = 0;
async function fireAndDeliver(tenantId: string) {
  fingerprints += 1;
  await t.container.alerts.raise(tenantId, { fingerprint: `dest-${fingerprints}`, name: 'probe', type: 'threshold', severity: 'warning', message: 'probe', source: 'test', serviceName: 'orders' });
  clock.advance(30_000);
  await t.container.alerting.dispatcher.dispatchTenant(tenantId);
  return t.container.alerting.delivery.deliverDue({ tenantId });
}

async function webhookRows(tenantId: string) {
  const response = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/alerts/notifications?channel=webhook', headers: await bearer(tenantId, ['viewer']) });
  return response.json<{ data: Array<{ status: string; last_error: string | null }> }>().data;
}

describe("a tenant's receiver may not reach internal addresses", () => {
  it('classifies loopback, private, link-local, unique-local and mapped addresses as internal, public ones not', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.20.0.5', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1']) {
      expect([address, isInternalAddress(address)]).toEqual([address, true]);
    }
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) {
      expect([address, isInternalAddress(address)]).toEqual([address, false]);
    }
  });

  it("a tenant's webhook on a loopback address is never called: the notification is dead-lettered with the reason", async () => {
    const tenant = newTenant();
    await putReceiver(t, tenant, 'webhook', { url: `${internalHook.url}/steal` });
    const result = await fireAndDeliver(tenant);
    expect(result.dead).toBe(1);
    expect(internalHook.requests).toHaveLength(0);
    const [row] = await webhookRows(tenant);
    expect(row?.status).toBe('dead');
    expect(row?.last_error).toMatch(/127\.0\.0\.1.*internal address/);
  });

  it('the same host written as a name (localhost) is refused too', async () => {
    const tenant = newTenant();
    await putReceiver(t, tenant, 'webhook', { url: internalHook.url.replace('127.0.0.1', 'localhost') });
    await fireAndDeliver(tenant);
    expect(internalHook.requests).toHaveLength(0);
    expect((await webhookRows(tenant))[0]?.last_error).toMatch(/internal address/);
  });

  it("the platform tenant's receivers, set by its operators, may reach internal addresses", async () => {
    const result = await fireAndDeliver(platform);
    expect(result.delivered).toBe(1);
    expect(internalHook.requests).toHaveLength(1);
  });
});
