import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, newTenant, signedHeaders, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { INGEST_MAX_BATCH: '50' } });
});
afterAll(async () => t.close());

const URL = '/api/v1/monitoring/metrics';

interface Stored {
  id: number;
  metric_name: string;
  service_name: string;
  value: number;
  labels: Record<string, string>;
  timestamp: string;
}

async function headers(tenant: string, roles: Parameters<typeof bearer>[1] = ['monitoring']) {
  return { ...(await bearer(tenant, roles)), 'content-type': 'application/json' };
}

async function push(tenant: string, payload: unknown) {
  return t.app.inject({ method: 'POST', url: URL, headers: await headers(tenant), payload: JSON.stringify(payload) });
}

async function read(tenant: string, query: string, path = URL) {
  const response = await t.app.inject({ method: 'GET', url: `${path}${query}`, headers: await headers(tenant, ['viewer']) });
  return { status: response.statusCode, body: response.json<{ data: Stored[]; next_cursor?: string | null; error?: { code: string } }>() };
}

async function countRows(tenant: string): Promise<number> {
  const result = await t.container.db.withTenant(tenant, (tx) => tx.query<{ n: number }>('SELECT count(*)::int AS n FROM metrics WHERE tenant_id = $1', [tenant]));
  return result.rows[0]?.n ?? -1;
}

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

describe('push and read back', () => {
  it('stores a single sample and answers 202 after commit', async () => {
    const tenant = newTenant();
    const response = await push(tenant, { name: 'queue_depth', service: 'ticket', value: 7.5, labels: { queue: 'mint' } });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toEqual({ accepted: 1 });
    const { body } = await read(tenant, '?name=queue_depth');
    expect(body.data).toHaveLength(1);
    expect(body.data[0]).toMatchObject({ metric_name: 'queue_depth', service_name: 'ticket', value: 7.5, labels: { queue: 'mint' } });
    expect(body.next_cursor).toBeNull();
  });

  it('stores a batch with labels and returns it newest first', async () => {
    const tenant = newTenant();
    const metrics = [3, 1, 2].map((minutes) => ({ name: 'latency', service: 'payment', value: minutes, labels: { route: `/r${minutes}` }, timestamp: minutesAgo(minutes) }));
    expect((await push(tenant, { metrics })).json()).toEqual({ accepted: 3 });
    const { body } = await read(tenant, '');
    expect(body.data.map((row) => row.value)).toEqual([1, 2, 3]);
    expect(body.data.map((row) => row.labels['route'])).toEqual(['/r1', '/r2', '/r3']);
  });

  it('walks every sample exactly once with cursor pagination', async () => {
    const tenant = newTenant();
    const metrics = Array.from({ length: 11 }, (_, index) => ({ name: 'paged', service: 'svc', value: index, timestamp: minutesAgo(index % 4) }));
    await push(tenant, { metrics });
    const seen: number[] = [];
    let cursor: string | null | undefined;
    let pages = 0;
    do {
      const { status, body } = await read(tenant, `?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(status).toBe(200);
      seen.push(...body.data.map((row) => row.id));
      cursor = body.next_cursor;
      pages += 1;
    } while (cursor !== null && cursor !== undefined && pages < 10);
    expect(pages).toBe(4);
    expect(new Set(seen).size).toBe(11);
  });

  it('filters by service, time range and label matchers', async () => {
    const tenant = newTenant();
    await push(tenant, {
      metrics: [
        { name: 'req', service: 'ticket', value: 1, labels: { env: 'prod', route: '/a' }, timestamp: minutesAgo(30) },
        { name: 'req', service: 'ticket', value: 2, labels: { env: 'staging', route: '/b' }, timestamp: minutesAgo(20) },
        { name: 'req', service: 'payment', value: 3, labels: { env: 'prod', route: '/api/pay' }, timestamp: minutesAgo(10) },
      ],
    });
    const values = async (query: string) => (await read(tenant, query)).body.data.map((row) => row.value).sort();
    expect(await values('?service=ticket')).toEqual([1, 2]);
    expect(await values(`?match=${encodeURIComponent('env="prod"')}`)).toEqual([1, 3]);
    expect(await values(`?match=${encodeURIComponent('env!="prod"')}`)).toEqual([2]);
    expect(await values(`?match=${encodeURIComponent('route=~"/api/.*"')}`)).toEqual([3]);
    expect(await values(`?match=${encodeURIComponent('route!~"/(a|b)"')}&match=${encodeURIComponent('env="prod"')}`)).toEqual([3]);
    expect(await values(`?match=${encodeURIComponent('service="payment"')}`)).toEqual([3]);
    expect(await values(`?match=${encodeURIComponent('missing=""')}`)).toEqual([1, 2, 3]);
    expect(await values(`?from=${minutesAgo(25)}&to=${minutesAgo(15)}`)).toEqual([2]);
    const payment = await read(tenant, '', `${URL}/service/payment`);
    expect(payment.body.data.map((row) => row.value)).toEqual([3]);
    const byService = await read(tenant, `?match=${encodeURIComponent('env="prod"')}`, `${URL}/service/ticket`);
    expect(byService.body.data.map((row) => row.value)).toEqual([1]);
  });

  it('returns the latest value of every series', async () => {
    const tenant = newTenant();
    await push(tenant, {
      metrics: [
        { name: 'cpu', service: 'a', value: 10, labels: { core: '0' }, timestamp: minutesAgo(3) },
        { name: 'cpu', service: 'a', value: 11, labels: { core: '0' }, timestamp: minutesAgo(1) },
        { name: 'cpu', service: 'a', value: 20, labels: { core: '1' }, timestamp: minutesAgo(2) },
        { name: 'mem', service: 'b', value: 5, timestamp: minutesAgo(5) },
      ],
    });
    const { body } = await read(tenant, '', `${URL}/latest`);
    expect(body.data.map((row) => [row.metric_name, row.labels['core'] ?? '', row.value])).toEqual([
      ['cpu', '0', 11],
      ['cpu', '1', 20],
      ['mem', '', 5],
    ]);
    const onlyCpu = await read(tenant, '?name=cpu&match=' + encodeURIComponent('core="1"'), `${URL}/latest`);
    expect(onlyCpu.body.data.map((row) => row.value)).toEqual([20]);
  });

  it('exports the latest values in Prometheus text format for the caller only', async () => {
    const tenant = newTenant();
    await push(tenant, { metrics: [{ name: 'orders', service: 'shop', value: 4, labels: { region: 'eu "west"', service: 'other' }, timestamp: minutesAgo(1) }] });
    const response = await t.app.inject({ method: 'GET', url: `${URL}/export`, headers: await headers(tenant, ['viewer']) });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/plain');
    const line = response.body.split('\n').find((text) => text.startsWith('orders{'));
    expect(line).toMatch(/^orders\{exported_service="other",region="eu \\"west\\"",service="shop"\} 4 \d+$/);
    expect(response.body).toContain('# TYPE orders untyped');
    const other = await t.app.inject({ method: 'GET', url: `${URL}/export`, headers: await headers(newTenant(), ['viewer']) });
    expect(other.body).toBe('');
    const anonymous = await t.app.inject({ method: 'GET', url: `${URL}/export` });
    expect(anonymous.statusCode).toBe(401);
  });

  it('accepts a batch from a signed service', async () => {
    const tenant = newTenant();
    const body = { metrics: [{ name: 'signed_metric', service: 'ticket', value: 1 }] };
    const signed = signedHeaders({ method: 'POST', path: URL, body, tenantId: tenant });
    const response = await t.app.inject({ method: 'POST', url: URL, headers: signed.headers, payload: signed.payload });
    expect(response.statusCode).toBe(202);
    expect(await countRows(tenant)).toBe(1);
  });
});

describe('bad input writes nothing', () => {
  it('a batch with one bad sample is refused whole and names the sample and the reason', async () => {
    const tenant = newTenant();
    const response = await push(tenant, {
      metrics: [
        { name: 'ok_metric', service: 'svc', value: 1 },
        { name: 'ok_metric', service: 'svc', value: 2, timestamp: new Date(Date.now() + 3_600_000).toISOString() },
        { name: 'ok_metric', service: 'svc', value: 3 },
      ],
    });
    expect(response.statusCode).toBe(400);
    const error = response.json<{ error: { code: string; details: { samples: Array<{ index: number; reason: string }> } } }>().error;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details.samples).toEqual([{ index: 1, name: 'ok_metric', reason: 'timestamp is in the future' }]);
    expect(await countRows(tenant)).toBe(0);
  });

  it('a schema violation (bad metric name) is refused with its index, name and field', async () => {
    const tenant = newTenant();
    const response = await push(tenant, { metrics: [{ name: 'fine', service: 's', value: 1 }, { name: '9bad name', service: 's', value: 1 }] });
    expect(response.statusCode).toBe(400);
    const error = response.json<{ error: { code: string; details: { samples: Array<{ index: number; name: string | null; reason: string }> } } }>().error;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.details.samples).toEqual([{ index: 1, name: '9bad name', reason: expect.stringMatching(/^name must match pattern/) }]);
    expect(await countRows(tenant)).toBe(0);
  });

  // Issue 15: a batch with schema-invalid samples answered every ajv error of both body shapes
  // (7 raw errors for one bad value), not the documented index, name and reason per sample.
  it('schema-invalid samples in a batch are answered one entry per sample (index, name, reason), not as raw schema errors', async () => {
    const tenant = newTenant();
    const response = await push(tenant, {
      metrics: [
        { name: 'fine', service: 's', value: 1 },
        { name: 'wrong_type', service: 's', value: '3' },
        { service: 's', value: 1 },
        { name: 'bad_label', service: 's', value: 1, labels: { env: 5 } },
        { name: 'two_problems', service: 's', value: null, timestamp: true },
      ],
    });
    expect(response.statusCode).toBe(400);
    const error = response.json<{ error: { code: string; message: string; details: { samples: unknown } } }>().error;
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toBe('4 of 5 samples are invalid; nothing was stored');
    expect(error.details.samples).toEqual([
      { index: 1, name: 'wrong_type', reason: 'value must be number' },
      { index: 2, name: null, reason: 'name is required' },
      { index: 3, name: 'bad_label', reason: 'labels.env must be string' },
      { index: 4, name: 'two_problems', reason: 'value must be number; timestamp must be string, or must be number' },
    ]);
    expect(await countRows(tenant)).toBe(0);
  });

  it('a single schema-invalid sample is index 0; a wrong batch envelope names only the batch shape', async () => {
    const tenant = newTenant();
    const single = await push(tenant, { name: 'one', service: 's', value: true });
    expect(single.statusCode).toBe(400);
    expect(single.json<{ error: { details: unknown } }>().error.details).toEqual({ samples: [{ index: 0, name: 'one', reason: 'value must be number' }] });
    const empty = await push(tenant, { metrics: [] });
    expect(empty.statusCode).toBe(400);
    expect(empty.json<{ error: { code: string; details: unknown } }>().error).toMatchObject({ code: 'VALIDATION_FAILED', details: [{ path: '/metrics', message: 'must NOT have fewer than 1 items' }] });
    expect(await countRows(tenant)).toBe(0);
  });

  it('a batch above INGEST_MAX_BATCH is refused', async () => {
    const tenant = newTenant();
    const response = await push(tenant, { metrics: Array.from({ length: 51 }, (_, value) => ({ name: 'many', service: 's', value })) });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ error: { code: string; details: unknown } }>().error).toMatchObject({ code: 'VALIDATION_FAILED', details: { limit: 50, received: 51 } });
    expect(await countRows(tenant)).toBe(0);
  });

  it('a negative increment of a catalogue counter is refused', async () => {
    const tenant = newTenant();
    const response = await push(tenant, { name: 'tickets_sold_total', service: 'ticket', value: -1 });
    expect(response.statusCode).toBe(400);
    expect(response.json<{ error: { code: string; details: { samples: Array<{ reason: string }> } } }>().error.details.samples[0]?.reason).toMatch(/counter/);
    expect(await countRows(tenant)).toBe(0);
  });

  it('a viewer may not push; nothing is written', async () => {
    const tenant = newTenant();
    const response = await t.app.inject({ method: 'POST', url: URL, headers: await headers(tenant, ['viewer']), payload: JSON.stringify({ name: 'x', service: 's', value: 1 }) });
    expect(response.statusCode).toBe(403);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('FORBIDDEN');
    expect(await countRows(tenant)).toBe(0);
  });

  it('malformed matchers, bad regexes, bad cursors and inverted ranges are 400s', async () => {
    const tenant = newTenant();
    const cases = [
      [`?match=${encodeURIComponent('env=prod')}`, 'VALIDATION_FAILED'],
      [`?match=${encodeURIComponent('env=~"(unclosed"')}`, 'INVALID_MATCHER'],
      ['?cursor=bm90LWEtY3Vyc29y', 'VALIDATION_FAILED'],
      [`?from=${minutesAgo(1)}&to=${minutesAgo(5)}`, 'VALIDATION_FAILED'],
    ] as const;
    for (const [query, code] of cases) {
      const { status, body } = await read(tenant, query);
      expect({ query, status, code: body.error?.code }).toEqual({ query, status: 400, code });
    }
    const anonymous = await t.app.inject({ method: 'GET', url: URL });
    expect(anonymous.statusCode).toBe(401);
  });
});
