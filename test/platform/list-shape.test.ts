import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
}
interface OpenApi {
  paths: Record<string, Record<string, { parameters?: Array<{ in: string; name: string }>; responses?: Record<string, { content?: Record<string, { schema: Schema }> }> }>>;
}

/** Protocols with shapes of their own (Grafana's data source), and status documents that carry an overall status beside their lists. */
const NOT_OUR_LISTS = [/^\/grafana/, /^\/metrics$/, /^\/api\/v1\/query/, /^\/health/, /^\/status$/, /^\/api\/v1\/monitoring\/dashboard\//, /^\/api\/v1\/analytics\/(dashboard|forecast|failure-risk|fraud\/metrics|sales\/)/];

/** Every GET whose answer is a collection, with its query parameters and 200 schema. */
async function listRoutes() {
  const doc = (await t.app.inject({ method: 'GET', url: '/docs/json' })).json<OpenApi>();
  const routes: Array<{ path: string; query: string[]; schema: Schema }> = [];
  for (const [path, operations] of Object.entries(doc.paths)) {
    const get = operations['get'];
    const schema = get?.responses?.['200']?.content?.['application/json']?.schema;
    if (get === undefined || schema === undefined || NOT_OUR_LISTS.some((pattern) => pattern.test(path))) continue;
    const lists = schema.type === 'array' || Object.values(schema.properties ?? {}).some((property) => property.type === 'array');
    if (lists && !/\{[^}]+\}$/.test(path)) routes.push({ path, query: (get.parameters ?? []).filter((parameter) => parameter.in === 'query').map((parameter) => parameter.name), schema });
  }
  return routes;
}

// Issue 15: list answers differed: some offset-paged lists said how many items there are (pagination), others did not.
describe('one shape for list answers', () => {
  it('every list route answers {"data": [...]}, and every list paged by offset also pagination {limit, offset, total}', async () => {
    const routes = await listRoutes();
    expect(routes.length).toBeGreaterThan(15);
    for (const route of routes) {
      expect(route.schema.properties?.['data']?.type, `${route.path} answers {data: [...]}`).toBe('array');
      if (route.query.includes('offset')) {
        expect(Object.keys(route.schema.properties?.['pagination']?.properties ?? {}), `${route.path} answers pagination`).toEqual(['limit', 'offset', 'total']);
      }
      if (route.query.includes('cursor')) expect(route.schema.properties?.['next_cursor'], `${route.path} answers next_cursor`).toBeDefined();
    }
    expect(routes.filter((route) => route.query.includes('offset')).map((route) => route.path).sort()).toEqual([
      '/api/v1/monitoring/alerts',
      '/api/v1/monitoring/alerts/history',
      '/api/v1/monitoring/alerts/notifications',
      '/api/v1/monitoring/alerts/silences',
      '/api/v1/monitoring/dashboards',
      '/api/v1/monitoring/incidents',
    ]);
  });

  const inHour = () => new Date(Date.now() + 3_600_000).toISOString();
  it.each([
    ['/api/v1/monitoring/incidents', (index: number) => ({ title: `incident ${index}`, severity: 'info' })],
    ['/api/v1/monitoring/dashboards', (index: number) => ({ name: `dashboard ${index}`, widgets: [], shared: false })],
    ['/api/v1/monitoring/alerts/silences', (index: number) => ({ matchers: [{ name: 'alertname', value: `a${index}`, is_regex: false, is_equal: true }], ends_at: inHour(), comment: 'c' })],
  ])('%s says how many items there are over all pages', async (url, body) => {
    const tenant = newTenant();
    const headers = { ...(await bearer(tenant, ['admin'])), 'content-type': 'application/json' };
    for (let index = 0; index < 3; index += 1) expect((await t.app.inject({ method: 'POST', url, headers, payload: JSON.stringify(body(index)) })).statusCode).toBe(201);
    const first = await t.app.inject({ method: 'GET', url: `${url}?limit=2`, headers });
    expect(first.statusCode).toBe(200);
    const page = first.json<{ data: unknown[]; pagination: unknown }>();
    expect(page.data).toHaveLength(2);
    expect(page.pagination).toEqual({ limit: 2, offset: 0, total: 3 });
    const last = (await t.app.inject({ method: 'GET', url: `${url}?limit=2&offset=2`, headers })).json<{ data: unknown[]; pagination: unknown }>();
    expect(last.data).toHaveLength(1);
    expect(last.pagination).toEqual({ limit: 2, offset: 2, total: 3 });
  });
});
