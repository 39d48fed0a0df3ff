import { request, type ClientRequest, type IncomingMessage } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, listenOnLoopback, newTenant, type TestApp } from '../support/app.js';

// A tenant's requests take turns before their bodies are read: one tenant's queue of large pushes
// costs the event loop nothing until each one's turn, and another tenant never waits behind it.
let t: TestApp;
let base = '';
beforeAll(async () => {
  t = await createTestApp({ env: { LIMIT_CONCURRENT_REQUESTS_PER_TENANT: '1', LIMIT_QUEUED_REQUESTS_PER_TENANT: '1' } });
  base = await listenOnLoopback(t);
}, 180_000);
afterAll(async () => t.close());

const METRICS = '/api/v1/monitoring/metrics';
const body = (name: string) => JSON.stringify({ metrics: [{ name, service: 'turns', value: 1 }] });

/** Starts a push whose body is sent later (or now); resolves with the status once answered. */
function push(authorization: string, payload: string, sendNow: boolean): { outgoing: ClientRequest; answered: Promise<number> } {
  let outgoing: ClientRequest | undefined;
  const answered = new Promise<number>((resolve, reject) => {
    outgoing = request(`${base}${METRICS}`, { method: 'POST', headers: { authorization, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (incoming: IncomingMessage) => {
      incoming.resume();
      incoming.on('end', () => resolve(incoming.statusCode ?? 0));
    });
    outgoing.on('error', reject);
    outgoing.flushHeaders();
    if (sendNow) outgoing.end(payload);
  });
  if (outgoing === undefined) throw new Error('no request');
  return { outgoing, answered };
}

const settledWithin = <T>(promise: Promise<T>, ms: number) => Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

describe('turns per tenant, taken before the body', () => {
  it('holds a tenant to LIMIT_CONCURRENT_REQUESTS_PER_TENANT from its headers on, queues the next, refuses past the queue, and lets another tenant through', async () => {
    const noisy = (await bearer(newTenant())).authorization;
    const quiet = (await bearer(newTenant())).authorization;
    const slowPayload = body('slow');
    // The first push has its turn as soon as its headers arrive, and holds it while its body does not.
    const slow = push(noisy, slowPayload, false);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const queued = push(noisy, body('queued'), true);
    expect(await settledWithin(queued.answered, 300)).toBe(false);
    // The queue (1) is full: the third is refused at once, with the standard envelope.
    const refused = await fetch(`${base}${METRICS}`, { method: 'POST', headers: { authorization: noisy, 'content-type': 'application/json' }, body: body('refused') });
    expect(refused.status).toBe(429);
    expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
    // Another tenant is not behind any of it.
    const other = await fetch(`${base}${METRICS}`, { method: 'POST', headers: { authorization: quiet, 'content-type': 'application/json' }, body: body('other') });
    expect(other.status).toBe(202);
    expect(await settledWithin(queued.answered, 100)).toBe(false);
    // The body arrives: the first is answered, then the queued one has its turn.
    slow.outgoing.end(slowPayload);
    expect(await slow.answered).toBe(202);
    expect(await queued.answered).toBe(202);
  });

  it('answers a request with an invalid token 401, not counted against any tenant', async () => {
    const response = await fetch(`${base}${METRICS}`, { method: 'POST', headers: { authorization: 'Bearer not-a-token', 'content-type': 'application/json' }, body: body('x') });
    expect(response.status).toBe(401);
  });
});
