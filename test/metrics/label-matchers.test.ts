import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

const URL = '/api/v1/monitoring/metrics';
/** The reported attack: a label value on which a backtracking engine explores 2^30 paths for (a+)+. */
const ATTACK = `${'a'.repeat(30)}!`;

interface Stored {
  service_name: string;
  labels: Record<string, string>;
}

async function push(tenant: string, metrics: Array<{ labels?: Record<string, string>; service?: string; value?: number }>) {
  const payload = { metrics: metrics.map((metric) => ({ name: 'jobs_queued', service: metric.service ?? 'worker', value: metric.value ?? 1, labels: metric.labels ?? {} })) };
  const response = await t.app.inject({ method: 'POST', url: URL, headers: { ...(await bearer(tenant, ['monitoring'])), 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
  expect(response.statusCode).toBe(202);
}

async function read(tenant: string, matchers: string[], path = '', extra = '') {
  const query = matchers.map((matcher) => `match=${encodeURIComponent(matcher)}`).join('&');
  const response = await t.app.inject({ method: 'GET', url: `${URL}${path}?name=jobs_queued&${query}${extra}`, headers: await bearer(tenant, ['viewer']) });
  return { status: response.statusCode, body: response.json<{ data: Stored[]; next_cursor?: string | null; error?: { code: string; details: Record<string, unknown> } }>() };
}

/** The x label of every row answered ("<absent>" where the series has none), sorted. */
const xs = (rows: readonly Stored[]) => rows.map((row) => row.labels['x'] ?? '<absent>').sort();

describe('query label matchers run on RE2 (issue 13)', () => {
  it('x=~"(a+)+" against the label "aaa…a!" answers, and matches as RE2 does: "aaaa" yes, "aaa…a!" no', async () => {
    const tenant = newTenant();
    await push(tenant, [{ labels: { x: ATTACK } }, { labels: { x: 'aaaa' } }, { labels: { x: 'b' } }]);
    for (const path of ['', '/latest']) {
      const { status, body } = await read(tenant, ['x=~"(a+)+"'], path);
      expect({ path, status, x: xs(body.data) }).toEqual({ path, status: 200, x: ['aaaa'] });
    }
    const negated = await read(tenant, ['x!~"(a+)+"']);
    expect(xs(negated.body.data)).toEqual(['b', ATTACK].sort());
  });

  it('regexes are fully anchored; !~ and != hold for an absent label, which is tested as ""', async () => {
    const tenant = newTenant();
    await push(tenant, [{ labels: { x: 'ba' } }, { labels: { x: 'abc' } }, { labels: { y: 'other' } }]);
    const cases: Array<[string, string[]]> = [
      ['x=~"a.*"', ['abc']],
      ['x!~"a.*"', ['<absent>', 'ba']],
      ['x!="ba"', ['<absent>', 'abc']],
      ['x=""', ['<absent>']],
      ['x=~"b?"', ['<absent>']],
      ['x=~".*"', ['<absent>', 'abc', 'ba']],
      ['x=~"b"', []],
    ];
    for (const [matcher, expected] of cases) {
      const { status, body } = await read(tenant, [matcher]);
      expect({ matcher, status, x: xs(body.data) }).toEqual({ matcher, status: 200, x: expected });
    }
  });

  it('`service` matches the service name; equality and regex matchers combine', async () => {
    const tenant = newTenant();
    await push(tenant, [{ service: 'shop', labels: { env: 'prod', x: 'a1' } }, { service: 'shop', labels: { env: 'dev', x: 'a2' } }, { service: 'stock', labels: { env: 'prod', x: 'a3' } }]);
    expect(xs((await read(tenant, ['service=~"sh.p"'])).body.data)).toEqual(['a1', 'a2']);
    expect(xs((await read(tenant, ['service=~"sh"'])).body.data)).toEqual([]);
    expect(xs((await read(tenant, ['env="prod"', 'x=~"a[12]"'])).body.data)).toEqual(['a1']);
    expect(xs((await read(tenant, ['x=~"a.*"', 'service!~"stock"', 'env!="dev"'])).body.data)).toEqual(['a1']);
  });

  it('a regex over thousands of label values keeps cursor pagination exact', async () => {
    const tenant = newTenant();
    await push(tenant, Array.from({ length: 3_000 }, (_, index) => ({ labels: { x: `v${index}` }, value: index })));
    const latest = await read(tenant, ['x=~"v1.*"'], '/latest', '&limit=10000');
    expect(latest.body.data).toHaveLength(1 + 10 + 100 + 1_000);
    const seen: string[] = [];
    let cursor: string | null | undefined = '';
    while (cursor !== null && cursor !== undefined) {
      const page = await read(tenant, ['x=~"v2[0-4]."'], '', `&limit=17${cursor === '' ? '' : `&cursor=${cursor}`}`);
      seen.push(...xs(page.body.data));
      cursor = page.body.next_cursor;
    }
    expect(seen.sort()).toEqual(Array.from({ length: 50 }, (_, index) => `v${200 + index}`).sort());
  });

  it.each([
    ['a lookahead', 'x=~"(?=x)"', '(?=x)'],
    ['a backreference', 'x=~"(a)\\\\1"', '(a)\\1'],
    ['an unbalanced (', 'x!~"("', '('],
  ])('a matcher with %s is refused with 400 INVALID_MATCHER on every read', async (_what, matcher, value) => {
    const tenant = newTenant();
    await push(tenant, [{ labels: { x: 'a' } }]);
    for (const path of ['', '/latest', '/export', '/service/worker']) {
      const { status, body } = await read(tenant, [matcher], path);
      expect({ path, status, code: body.error?.code, value: body.error?.details['value'] }).toEqual({ path, status: 400, code: 'INVALID_MATCHER', value });
    }
  });
});
