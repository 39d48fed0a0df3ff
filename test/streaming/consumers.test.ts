import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parkedTopic, TOPICS, type DeliveredMessage } from '../../src/platform/bus/index.js';
import { ManualClock } from '../../src/platform/clock.js';
import { createTestApp, newTenant, type TestApp } from '../support/app.js';
import { waitFor } from '../support/ws.js';

let t: TestApp;
const clock = new ManualClock(Date.now());
const parked: DeliveredMessage[] = [];
const FROM_TICKETS = { origin: 'ticket-service' };

beforeAll(async () => {
  t = await createTestApp({ clock });
  for (const topic of [TOPICS.metrics, TOPICS.fraud, TOPICS.alerts]) {
    await t.container.bus.subscribe(parkedTopic(topic), 'test-inspector', async (message) => {
      parked.push(message);
    });
  }
}, 180_000);
afterAll(async () => t.close());

const count = async (tenantId: string, sql: string) => {
  const result = await t.container.db.withTenant(tenantId, (tx) => tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, [tenantId]));
  return result.rows[0]?.n ?? -1;
};
const streamMetric = async (topic: string, outcome: string) => {
  const metric = await t.container.registry.getSingleMetric('monitoring_stream_messages_total')?.get();
  return metric?.values.find((value) => value.labels['topic'] === topic && value.labels['outcome'] === outcome)?.value ?? 0;
};
const parkedFor = (tenantId: string) => parked.filter((message) => JSON.stringify(message.value).includes(tenantId));

/** What is published on metrics-stream under one tenant's key, collected from a subscription of its own. */
async function publishedFor(tenant: string, purpose: string) {
  const published: DeliveredMessage[] = [];
  const subscription = await t.container.bus.subscribe(TOPICS.metrics, `test-${purpose}-${tenant}`, async (message) => {
    if (message.key === tenant) published.push(message);
  });
  return { published, subscription };
}

describe('metrics-stream consumer', () => {
  it('ingests samples other services publish, one or a batch', async () => {
    const tenant = newTenant();
    await t.container.bus.publish(TOPICS.metrics, [
      { key: tenant, value: { tenant_id: tenant, name: 'tickets_sold', service: 'ticket-service', value: 3, labels: { venue: 'v1' } }, headers: FROM_TICKETS },
      { key: tenant, value: { tenant_id: tenant, metrics: [{ name: 'tickets_sold', service: 'ticket-service', value: 4 }, { name: 'refunds', service: 'ticket-service', value: 1 }] }, headers: FROM_TICKETS },
    ]);
    await waitFor(async () => (await count(tenant, 'metrics WHERE tenant_id = $1')) === 3, 5_000, 'three samples stored');
    const rows = await t.container.db.withTenant(tenant, (tx) => tx.query<{ metric_name: string; value: number }>('SELECT metric_name, value FROM metrics WHERE tenant_id = $1 ORDER BY value', [tenant]));
    expect(rows.rows).toEqual([{ metric_name: 'refunds', value: 1 }, { metric_name: 'tickets_sold', value: 3 }, { metric_name: 'tickets_sold', value: 4 }]);
  });

  it('takes a typed counter as increments (single and batch messages) and publishes it back as the increment, typed', async () => {
    const tenant = newTenant();
    const { published, subscription } = await publishedFor(tenant, 'counter');
    try {
      const at = (seconds: number) => new Date(clock.nowMs() - 60_000 + seconds * 1000).toISOString();
      await t.container.bus.publish(TOPICS.metrics, [
        { key: tenant, value: { tenant_id: tenant, name: 'orders_total', service: 'shop', type: 'counter', value: 2, timestamp: at(0) }, headers: FROM_TICKETS },
        { key: tenant, value: { tenant_id: tenant, metrics: [{ name: 'orders_total', service: 'shop', type: 'counter', value: 5, timestamp: at(1) }] }, headers: FROM_TICKETS },
      ]);
      await waitFor(async () => (await count(tenant, 'metrics WHERE tenant_id = $1')) === 2, 5_000, 'two samples stored');
      const rows = await t.container.db.withTenant(tenant, (tx) => tx.query<{ value: number }>('SELECT value FROM metrics WHERE tenant_id = $1 ORDER BY "timestamp"', [tenant]));
      expect(rows.rows.map((row) => row.value)).toEqual([2, 7]);
      // What this service ingests itself goes out as pushed: the increment, typed.
      await t.container.ingest.ingest(tenant, [{ name: 'orders_total', service: 'shop', type: 'counter', value: 4, timestamp: at(2) }], 'http');
      await waitFor(() => published.some((message) => JSON.stringify(message.value).includes('"value":4')), 5_000, 'the increment published');
      const out = published.map((message) => message.value as { metrics?: Array<{ value: number; type?: string }> }).flatMap((value) => value.metrics ?? []);
      expect(out.find((sample) => sample.value === 4)).toMatchObject({ value: 4, type: 'counter' });
    } finally {
      await subscription.close();
    }
  });

  it('publishes committed samples as batch messages of at most 500, keyed by tenant', async () => {
    const tenant = newTenant();
    const { published, subscription } = await publishedFor(tenant, 'published');
    try {
      await t.container.ingest.ingest(tenant, Array.from({ length: 501 }, (_, index) => ({ name: 'chunked', service: 'monitoring-service', value: index })), 'http');
      await waitFor(() => published.length === 2, 5_000, 'two batch messages');
      const values = published.map((message) => message.value as { tenant_id: string; metrics: Array<{ value: number }> });
      expect(values.map((value) => [value.tenant_id, value.metrics.length])).toEqual([[tenant, 500], [tenant, 1]]);
      expect(values.flatMap((value) => value.metrics.map((sample) => sample.value))).toEqual(Array.from({ length: 501 }, (_, index) => index));
    } finally {
      await subscription.close();
    }
  });

  it('ignores what this service published itself (no loop)', async () => {
    const tenant = newTenant();
    const before = await streamMetric(TOPICS.metrics, 'own');
    await t.container.ingest.ingest(tenant, [{ name: 'own_sample', service: 'monitoring-service', value: 1 }], 'http');
    await waitFor(async () => (await streamMetric(TOPICS.metrics, 'own')) > before, 5_000, 'own message seen');
    expect(await count(tenant, 'metrics WHERE tenant_id = $1')).toBe(1);
  });

  it('parks and counts a bad message, stores nothing, and keeps consuming', async () => {
    const tenant = newTenant();
    const before = await streamMetric(TOPICS.metrics, 'invalid');
    await t.container.bus.publish(TOPICS.metrics, [
      { value: { tenant_id: tenant, name: 'bad name', service: 'ticket-service', value: 1 }, headers: FROM_TICKETS },
      { value: { tenant_id: tenant, name: 'future', service: 'ticket-service', value: 1, timestamp: clock.nowMs() + 86_400_000 }, headers: FROM_TICKETS },
      { value: { tenant_id: 'not-a-uuid', name: 'x', service: 'ticket-service', value: 1, note: tenant }, headers: FROM_TICKETS },
      { value: { tenant_id: tenant, name: 'good_after_bad', service: 'ticket-service', value: 1 }, headers: FROM_TICKETS },
    ]);
    await waitFor(async () => (await count(tenant, 'metrics WHERE tenant_id = $1')) === 1, 5_000, 'good sample stored');
    await waitFor(() => parkedFor(tenant).length === 3, 5_000, 'three parked');
    expect(await streamMetric(TOPICS.metrics, 'invalid')).toBe(before + 3);
    expect(parkedFor(tenant).map((message) => message.headers['parked-reason'])).toEqual([
      expect.stringMatching(/^invalid message: \/name: /),
      expect.stringContaining('timestamp is in the future'),
      expect.stringContaining('/tenant_id: Expected string to match'),
    ]);
    expect(parkedFor(tenant)[0]?.headers['origin']).toBe('ticket-service');
  });
});

describe('fraud-events consumer', () => {
  it('stores fraud events once, even when delivered twice', async () => {
    const tenant = newTenant();
    const event = { tenant_id: tenant, user_id: 'user-7', pattern: 'velocity', risk_level: 'high', risk_score: 0.9, data: { purchases: 12 }, timestamp: '2026-11-25T10:00:00.000Z' };
    await t.container.bus.publish(TOPICS.fraud, [{ key: tenant, value: event, headers: { origin: 'payment-service' } }, { key: tenant, value: event, headers: { origin: 'payment-service' } }]);
    await waitFor(async () => (await streamMetric(TOPICS.fraud, 'duplicate')) >= 1, 5_000, 'duplicate seen');
    const rows = await t.container.db.withTenant(tenant, (tx) => tx.query<{ user_id: string; risk_level: string; data: unknown }>('SELECT user_id, risk_level, data FROM fraud_events WHERE tenant_id = $1', [tenant]));
    expect(rows.rows).toEqual([{ user_id: 'user-7', risk_level: 'high', data: { purchases: 12 } }]);
  });

  it('parks an invalid fraud event and stores nothing', async () => {
    const tenant = newTenant();
    await t.container.bus.publish(TOPICS.fraud, [{ value: { tenant_id: tenant, user_id: 'u', pattern: 'p', risk_level: 'extreme' }, headers: { origin: 'payment-service' } }]);
    await waitFor(() => parkedFor(tenant).length === 1, 5_000, 'parked');
    expect(parkedFor(tenant)[0]?.topic).toBe(parkedTopic(TOPICS.fraud));
    expect(await count(tenant, 'fraud_events WHERE tenant_id = $1')).toBe(0);
  });
});

describe('alerts-stream consumer', () => {
  const alertsOf = (tenant: string) =>
    t.container.db.withTenant(tenant, (tx) => tx.query<{ name: string; severity: string; type: string; status: string; source: string }>('SELECT name, severity, type, status, source FROM alerts WHERE tenant_id = $1', [tenant]));

  it('raises an alert for a critical event of another service, and resolves it when told', async () => {
    const tenant = newTenant();
    await t.container.bus.publish(TOPICS.alerts, [
      { value: { tenant_id: tenant, name: 'PaymentGatewayDown', severity: 'critical', message: 'stripe unreachable', service_name: 'payment-service' }, headers: { origin: 'payment-service' } },
      { value: { tenant_id: tenant, name: 'SlowCheckout', severity: 'warning', message: 'p99 high' }, headers: { origin: 'payment-service' } },
    ]);
    await waitFor(async () => (await alertsOf(tenant)).rows.length === 1, 5_000, 'alert raised');
    expect((await alertsOf(tenant)).rows).toEqual([{ name: 'PaymentGatewayDown', severity: 'critical', type: 'external', status: 'firing', source: 'alerts-stream:payment-service' }]);

    await t.container.bus.publish(TOPICS.alerts, [{ value: { tenant_id: tenant, kind: 'resolved', alert: { name: 'PaymentGatewayDown', severity: 'critical', service_name: 'payment-service' } }, headers: { origin: 'payment-service' } }]);
    await waitFor(async () => (await alertsOf(tenant)).rows[0]?.status === 'resolved', 5_000, 'alert resolved');
  });

  it('does not consume the alerts this service published (no loop)', async () => {
    const tenant = newTenant();
    const before = await streamMetric(TOPICS.alerts, 'own');
    await t.container.alerts.raise(tenant, { fingerprint: 'own', name: 'OwnAlert', type: 'threshold', severity: 'critical', message: 'm', source: 'test' });
    await waitFor(async () => (await streamMetric(TOPICS.alerts, 'own')) > before, 5_000, 'own alert seen');
    expect((await alertsOf(tenant)).rows).toHaveLength(1);
  });

  it('parks an alert event without a tenant', async () => {
    const marker = newTenant();
    await t.container.bus.publish(TOPICS.alerts, [{ value: { name: 'NoTenant', severity: 'critical', message: marker }, headers: { origin: 'payment-service' } }]);
    await waitFor(() => parkedFor(marker).length === 1, 5_000, 'parked');
  });
});
