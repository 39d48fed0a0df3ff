import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, newTenant, tokenFor, type TestApp } from '../support/app.js';
import { connect, connectAs, listen } from '../support/ws.js';

let t: TestApp;
let url: string;
beforeAll(async () => {
  // The heartbeat runs every 10 minutes here: only the token's own expiry can close a socket in these tests.
  t = await createTestApp({ env: { WS_HEARTBEAT_INTERVAL_MS: '600000' } });
  url = await listen(t.app);
}, 180_000);
afterAll(async () => t.close());

const within = <T>(promise: Promise<T>, ms: number) => Promise.race([promise, new Promise<'still open'>((resolve) => setTimeout(() => resolve('still open'), ms))]);

describe('WebSocket token expiry', () => {
  it('closes a socket with 4401 when its token expires, not at the next heartbeat', async () => {
    const exp = Math.floor(Date.now() / 1000) + 2;
    const client = await connectAs(url, await tokenFor(newTenant(), ['viewer'], { expiresIn: exp }));
    const longLived = await connectAs(url, await tokenFor(newTenant(), ['viewer'], { expiresIn: '1h' }));
    expect(client.socket.readyState).toBe(client.socket.OPEN);
    expect(await within(client.closed, 8_000)).toEqual({ code: 4401, reason: 'token expired' });
    // Not before the token's exp (second precision).
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000 - 1_000);
    // A socket whose token is still valid stays open.
    expect(longLived.socket.readyState).toBe(longLived.socket.OPEN);
    await longLived.close();
  });

  it('applies to a token given in an auth message as well', async () => {
    const client = connect(`${url}/api/v1/ws`);
    await new Promise<void>((resolve) => client.socket.once('open', () => resolve()));
    client.send({ action: 'auth', token: await tokenFor(newTenant(), ['viewer'], { expiresIn: Math.floor(Date.now() / 1000) + 2 }) });
    await client.next((message) => message.type === 'authenticated');
    expect(await within(client.closed, 8_000)).toEqual({ code: 4401, reason: 'token expired' });
  });
});
