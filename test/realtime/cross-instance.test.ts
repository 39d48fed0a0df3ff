import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStreamsBus, TOPICS } from '../../src/platform/bus/index.js';
import { bearer, createTestApp, newTenant, tokenFor, type TestApp } from '../support/app.js';
import { TEST_REDIS_URL } from '../support/env.js';
import { connectAs, isMetric, listen, subscribe } from '../support/ws.js';

/** Two instances of the service on the same Redis, as behind a load balancer. */
describe.skipIf(TEST_REDIS_URL === undefined)(`two instances on one Redis${TEST_REDIS_URL === undefined ? ' (skipped: set TEST_REDIS_URL to run)' : ''}`, () => {
  let one: TestApp;
  let two: TestApp;
  let urlOne: string;
  let urlTwo: string;

  beforeAll(async () => {
    one = await createTestApp({ env: { BUS: 'redis' } });
    two = await createTestApp({ env: { BUS: 'redis' } });
    urlOne = await listen(one.app);
    urlTwo = await listen(two.app);
  }, 180_000);
  afterAll(async () => {
    await one.close();
    await two.close();
  });

  const push = async (t: TestApp, tenantId: string, name: string, value: number) => {
    const response = await t.app.inject({
      method: 'POST',
      url: '/api/v1/monitoring/metrics',
      headers: { ...(await bearer(tenantId, ['monitoring'])), 'content-type': 'application/json' },
      payload: { name, service: 'payment-service', value },
    });
    expect(response.statusCode).toBe(202);
  };

  it('a sample ingested on instance 1 reaches subscribers on both instances exactly once', async () => {
    const tenant = newTenant();
    const other = newTenant();
    const token = await tokenFor(tenant);
    const onOne = await connectAs(urlOne, token);
    const onTwo = await connectAs(urlTwo, token);
    const otherTenant = await connectAs(urlTwo, await tokenFor(other));
    await subscribe(onOne, ['*']);
    await subscribe(onTwo, ['*']);
    await subscribe(otherTenant, ['*']);

    await push(one, tenant, 'payments_per_minute', 12);
    await push(one, tenant, 'end_marker', 1);
    await push(two, other, 'other_marker', 1);

    for (const client of [onOne, onTwo]) {
      await client.next(isMetric('end_marker'));
      const payments = client.received(isMetric('payments_per_minute'));
      expect(payments).toHaveLength(1);
      expect(payments[0]?.['samples']).toEqual([expect.objectContaining({ name: 'payments_per_minute', value: 12, service: 'payment-service' })]);
    }
    await otherTenant.next(isMetric('other_marker'));
    expect(JSON.stringify(otherTenant.messages)).not.toContain('payments_per_minute');
    await Promise.all([onOne.close(), onTwo.close(), otherTenant.close()]);
  });

  it('an alert raised on instance 2 reaches an `alerts` subscriber on instance 1 once', async () => {
    const tenant = newTenant();
    const client = await connectAs(urlOne, await tokenFor(tenant, ['operator']));
    await subscribe(client, ['alerts']);
    await two.container.alerts.raise(tenant, { fingerprint: 'cross', name: 'CrossInstance', type: 'threshold', severity: 'error', message: 'raised on two', source: 'test' });
    expect(await client.next((message) => message.type === 'alert')).toMatchObject({ kind: 'firing', alert: { name: 'CrossInstance', severity: 'error' } });
    await two.container.alerts.resolve(tenant, { fingerprint: 'cross' }, 'operator');
    expect(await client.next((message) => message.type === 'alert')).toMatchObject({ kind: 'resolved' });
    expect(client.received((message) => message.type === 'alert')).toHaveLength(2);
    await client.close();
  });

  it('a sample another service publishes on metrics-stream (Redis Streams) is ingested once and reaches subscribers on both instances', { timeout: 30_000 }, async () => {
    const tenant = newTenant();
    const token = await tokenFor(tenant);
    const onOne = await connectAs(urlOne, token);
    const onTwo = await connectAs(urlTwo, token);
    await subscribe(onOne, ['sold_from_bus']);
    await subscribe(onTwo, ['sold_from_bus']);
    const ticketService = createRedisStreamsBus({ url: TEST_REDIS_URL ?? '', partitions: 8, maxLen: 100_000, maxAttempts: 5, retryDelayMs: 10, logger: pino({ level: 'silent' }) });
    try {
      await ticketService.publish(TOPICS.metrics, [{ key: tenant, value: { tenant_id: tenant, name: 'sold_from_bus', service: 'ticket-service', value: 7 }, headers: { origin: 'ticket-service' } }]);
      for (const client of [onOne, onTwo]) {
        const message = await client.next(isMetric('sold_from_bus'), 20_000);
        expect(message['samples']).toEqual([expect.objectContaining({ value: 7, service: 'ticket-service' })]);
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(onOne.received(isMetric()).length + onTwo.received(isMetric()).length).toBe(2);
    } finally {
      await ticketService.close();
      await Promise.all([onOne.close(), onTwo.close()]);
    }
  });
});
