import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, newTenant, tokenFor, type TestApp } from '../support/app.js';
import { connectAs, isMetric, listen, subscribe, waitFor } from '../support/ws.js';

let t: TestApp;
let url: string;

beforeAll(async () => {
  t = await createTestApp({ env: { WS_CLOSE_GRACE_MS: '10000' } });
  url = await listen(t.app);
}, 180_000);
afterAll(async () => t.close());

const closedFor = async (reason: string) => {
  const metric = await t.container.registry.getSingleMetric('monitoring_ws_connections_closed_total')?.get();
  return metric?.values.find((value) => value.labels['reason'] === reason)?.value ?? 0;
};

describe('slow consumers', () => {
  it('closes a client that stops reading with 4413 while the others keep receiving everything', { timeout: 60_000 }, async () => {
    const tenant = newTenant();
    const token = await tokenFor(tenant);
    const fast = await connectAs(url, token);
    const slow = await connectAs(url, token);
    await subscribe(fast, ['*']);
    await subscribe(slow, ['*']);
    // The slow client stops reading: the kernel buffers fill up, then the server's send buffer grows.
    slow.socket.pause();

    // ~200 KB per commit: 200 samples with 1 KB of labels each.
    const padding = 'x'.repeat(1000);
    const batch = (sequence: number) => Array.from({ length: 200 }, (_, index) => ({ name: `load_${index % 10}`, service: 'ticket-service', value: sequence, labels: { padding } }));
    let sent = 0;
    while ((await closedFor('slow_consumer')) === 0 && sent < 150) {
      await t.container.ingest.ingest(tenant, batch(sent), 'internal');
      sent += 1;
      // Embedded PGlite resolves without visiting the event loop: let sockets do their I/O.
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(await closedFor('slow_consumer')).toBe(1);

    // The fast client received every commit, before and after the slow one was dropped.
    for (let extra = 0; extra < 3; extra += 1) {
      await t.container.ingest.ingest(tenant, batch(sent), 'internal');
      sent += 1;
    }
    await waitFor(() => fast.received(isMetric()).length === sent, 20_000, `all ${sent} commits on the fast client`);
    expect(fast.socket.readyState).toBe(fast.socket.OPEN);

    // Once it reads again, the slow client finds the close frame behind the data it had not read.
    slow.socket.resume();
    expect(await slow.closed).toEqual({ code: 4413, reason: 'send buffer over 1048576 bytes: client too slow' });
    expect(slow.received(isMetric()).length).toBeLessThan(sent);
    await fast.close();
  });
});
