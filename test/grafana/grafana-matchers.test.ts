import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriesKeyOf } from '../../src/metrics/index.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';

let t: TestApp;
beforeAll(async () => {
  // Ranges over one minute read rollups (with buckets of 5 minutes or more).
  t = await createTestApp({ env: { METRICS_RAW_QUERY_MAX_RANGE_MS: '60000' } });
});
afterAll(async () => t.close());

const MINUTE = 60_000;
const base = Math.floor((Date.now() - 60 * MINUTE) / (10 * MINUTE)) * 10 * MINUTE;
const iso = (ms: number) => new Date(ms).toISOString();
const range = (from: number, to: number) => ({ from: iso(from), to: iso(to) });
/** The reported attack: a label value on which a backtracking engine explores 2^30 paths for (a+)+. */
const ATTACK = `${'a'.repeat(30)}!`;
const VALUES = [ATTACK, 'aaaa', 'b'];

async function seed(tenant: string) {
  const metrics = VALUES.map((x, index) => ({ name: 'jobs_queued', service: 'worker', value: index, labels: { x }, timestamp: iso(base + 30_000) }));
  const response = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers: { ...(await bearer(tenant, ['monitoring'])), 'content-type': 'application/json' }, payload: JSON.stringify({ metrics }) });
  expect(response.statusCode).toBe(202);
}

async function query(tenant: string, body: Record<string, unknown>) {
  const payload = { range: range(base, base + MINUTE), intervalMs: MINUTE, targets: [{ target: 'jobs_queued', refId: 'A' }], ...body };
  const response = await t.app.inject({ method: 'POST', url: '/grafana/query', headers: { ...(await bearer(tenant, ['viewer'])), 'content-type': 'application/json' }, payload: JSON.stringify(payload) });
  return { status: response.statusCode, body: response.json<Array<{ target?: string; rows?: unknown[][] }> & { error?: { code: string } }>() };
}

const names = (answer: Awaited<ReturnType<typeof query>>) => answer.body.map((series) => series.target).sort();
const seriesOf = (...xs: string[]) => xs.map((x) => `jobs_queued{service="worker",x=${JSON.stringify(x)}}`).sort();

describe('Grafana filters and target matchers run on RE2 (issue 13)', () => {
  it('an ad-hoc filter x=~(a+)+ against the label "aaa…a!" answers, and matches as RE2 does', async () => {
    const tenant = newTenant();
    await seed(tenant);
    for (const key of ['adhocFilters', 'filters']) {
      const answer = await query(tenant, { [key]: [{ key: 'x', operator: '=~', value: '(a+)+' }] });
      expect({ key, status: answer.status, series: names(answer) }).toEqual({ key, status: 200, series: seriesOf('aaaa') });
    }
    const negated = await query(tenant, { adhocFilters: [{ key: 'x', operator: '!~', value: '(a+)+' }] });
    expect(names(negated)).toEqual(seriesOf(ATTACK, 'b'));
    const anchored = await query(tenant, { filters: [{ key: 'x', operator: '=~', value: 'a' }] });
    expect(names(anchored)).toEqual([]);
  });

  it('a target payload matcher x=~"(a+)+" filters time series and tables alike', async () => {
    const tenant = newTenant();
    await seed(tenant);
    const series = await query(tenant, { targets: [{ target: 'jobs_queued', refId: 'A', payload: { match: ['x=~"(a+)+"'] } }] });
    expect(names(series)).toEqual(seriesOf('aaaa'));
    const table = await query(tenant, { targets: [{ target: 'jobs_queued', refId: 'T', type: 'table', payload: { match: ['x!~"(a+)+"'] } }] });
    expect(table.body[0]?.rows?.map((row) => row[3]).sort()).toEqual([JSON.stringify({ x: ATTACK }), JSON.stringify({ x: 'b' })].sort());
  });

  it('matchers filter rollups as they filter raw samples', async () => {
    const tenant = newTenant();
    const start = base - 6 * 60 * MINUTE;
    await t.container.db.withTenant(tenant, async (tx) => {
      for (const x of VALUES) {
        await tx.query(
          `INSERT INTO metric_rollups (tenant_id, resolution, bucket_start, series_key, metric_name, service_name, labels, count, sum, min, max, avg, p95)
           VALUES ($1, '1h', $2, $3, 'jobs_queued', 'worker', $4, 1, 1, 1, 1, 1, 1)`,
          [tenant, iso(start), seriesKeyOf('jobs_queued', 'worker', { x }), JSON.stringify({ x })],
        );
      }
    });
    const answer = await query(tenant, { range: range(start, start + 2 * 60 * MINUTE), intervalMs: 60 * MINUTE, adhocFilters: [{ key: 'x', operator: '=~', value: '(a+)+' }] });
    expect(answer.status).toBe(200);
    expect(names(answer)).toEqual(seriesOf('aaaa'));
  });

  it.each([
    ['a lookahead', '(?=x)'],
    ['a backreference', '(a)\\1'],
    ['an unbalanced (', '('],
  ])('a filter or target matcher with %s is refused with 400 INVALID_MATCHER', async (_what, value) => {
    const tenant = newTenant();
    await seed(tenant);
    const filter = await query(tenant, { filters: [{ key: 'x', operator: '=~', value }] });
    expect({ status: filter.status, code: filter.body.error?.code }).toEqual({ status: 400, code: 'INVALID_MATCHER' });
    const target = await query(tenant, { targets: [{ target: 'jobs_queued', refId: 'A', payload: { match: [`x!~${JSON.stringify(value)}`] } }] });
    expect({ status: target.status, code: target.body.error?.code }).toEqual({ status: 400, code: 'INVALID_MATCHER' });
  });
});
