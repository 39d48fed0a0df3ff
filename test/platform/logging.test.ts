import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/platform/logging.js';
import { createTestApp, newTenant, signedHeaders, tokenFor, type TestApp } from '../support/app.js';
import { connect, connectAs, listen } from '../support/ws.js';

/** Every line the service logs, captured at the most verbose level. */
const lines: string[] = [];
const sink = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    lines.push(...chunk.toString('utf8').split('\n').filter((line) => line.length > 0));
    callback();
  },
});

let t: TestApp;
let url: string;
beforeAll(async () => {
  t = await createTestApp({ logger: pino({ level: 'trace' }, sink) });
  url = await listen(t.app);
}, 180_000);
afterAll(async () => t.close());

const leaking = (secret: string) => lines.filter((line) => line.includes(secret));

describe('credentials in logs', () => {
  it('a WebSocket ?token= never reaches a log line, valid or not', async () => {
    const token = await tokenFor(newTenant(), ['viewer']);
    const client = await connectAs(url, token);
    await client.close();
    const bogus = 'not-a-jwt-but-still-a-secret-4f1c';
    const refused = connect(`${url}/api/v1/ws?token=${bogus}`);
    expect((await refused.closed).code).toBe(4401);

    expect(lines.some((line) => line.includes('/api/v1/ws?token=[REDACTED]'))).toBe(true);
    expect(leaking(token)).toEqual([]);
    // Not even the signature part of the JWT.
    expect(leaking(token.split('.')[2] ?? token)).toEqual([]);
    expect(leaking(bogus)).toEqual([]);
  });

  it('access_token and api_key query parameters, the Authorization header and service signatures are redacted', async () => {
    const token = await tokenFor(newTenant(), ['viewer']);
    // Logged whatever the answer: the request line is written when the request arrives.
    await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/metrics?name=kept-name&access_token=AT-secret-1&API_KEY=AK-secret-2', headers: { authorization: `Bearer ${token}` } });
    const signed = signedHeaders({ method: 'GET', path: '/api/v1/monitoring/metrics?token=TK-secret-3', tenantId: newTenant() });
    await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/metrics?token=TK-secret-3', headers: signed.headers });

    expect(lines.some((line) => line.includes('name=kept-name&access_token=[REDACTED]&API_KEY=[REDACTED]'))).toBe(true);
    for (const secret of [token, 'AT-secret-1', 'AK-secret-2', 'TK-secret-3', signed.headers['x-signature']]) expect(leaking(secret)).toEqual([]);
  });

  it('headers and credential fields a log call includes are redacted', () => {
    const signature = 'ab'.repeat(32);
    const headers = { authorization: 'Bearer HDR-secret-1', cookie: 'sid=CK-secret-2', 'x-signature': signature, 'sec-websocket-protocol': 'bearer, WS-secret-3', accept: 'text/plain' };
    t.container.logger.warn({ req: { method: 'GET', url: '/x', headers } }, 'request');
    t.container.logger.warn({ request: { headers } }, 'request headers');
    t.container.logger.warn({ headers: { ...headers, authorization: 'Basic BA-secret-4' }, token: 'TOP-secret-5', upstream: { api_key: 'NEST-secret-6' } }, 'call');
    for (const secret of ['HDR-secret-1', 'CK-secret-2', signature, 'WS-secret-3', 'BA-secret-4', 'TOP-secret-5', 'NEST-secret-6']) expect(leaking(secret)).toEqual([]);
    // What is not a credential is still logged.
    expect(lines.filter((line) => line.includes('"accept":"text/plain"'))).toHaveLength(2);
  });

  it('redactUrl keeps everything but the credential values', () => {
    expect(redactUrl('/api/v1/ws')).toBe('/api/v1/ws');
    expect(redactUrl('/a?x=1&token=abc&y=2#frag')).toBe('/a?x=1&token=[REDACTED]&y=2#frag');
    expect(redactUrl('/a?%74oken=abc&tokenish=1&api_key')).toBe('/a?%74oken=[REDACTED]&tokenish=1&api_key=[REDACTED]');
  });
});
