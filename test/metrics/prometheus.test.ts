import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CATALOGUE_ENTRIES } from '../../src/metrics/catalogue.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { requireProgram } from '../support/programs.js';

let t: TestApp;
/** SYSTEM_TENANT_ID of this app: the only tenant whose samples feed /metrics. */
const platform = newTenant();
beforeAll(async () => {
  t = await createTestApp({ env: { SYSTEM_TENANT_ID: platform } });
});
afterAll(async () => t.close());

const scrape = async () => {
  const response = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' });
  expect(response.statusCode).toBe(200);
  return response.body;
};

async function push(tenant: string, metrics: unknown[], app: TestApp = t) {
  const response = await app.app.inject({
    method: 'POST',
    url: '/api/v1/monitoring/metrics',
    headers: { ...(await bearer(tenant, ['monitoring'])), 'content-type': 'application/json' },
    payload: JSON.stringify({ metrics }),
  });
  expect(response.statusCode).toBe(202);
}

/**
 * The audit fixes these names; promtool's linter would prefer base units (`_seconds`) and a
 * trailing `_total`. These findings, and only these, are accepted.
 */
const AUDIT_NAME_LINTS = new Set([
  'http_request_duration_ms metric names should not contain abbreviated units',
  'db_query_duration_ms metric names should not contain abbreviated units',
  'api_response_time_ms metric names should not contain abbreviated units',
  'payment_processing_duration_ms metric names should not contain abbreviated units',
  'solana_transaction_time_ms metric names should not contain abbreviated units',
  'revenue_total_cents counter metrics should have "_total" suffix',
]);

/** Prometheus' own parser and linter judges the exposition text. */
const promtoolProgram = requireProgram('promtool', 'prometheus');

function promtool(text: string): { status: number | null; problems: string[] } {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (result.error !== undefined) throw new Error(`promtool failed to run: ${result.error.message}`);
  const problems = `${result.stdout}\n${result.stderr}`.split('\n').map((line) => line.trim()).filter((line) => line.length > 0);
  return { status: result.status, problems };
}

describe('/metrics', () => {
  it('serves default process metrics and the whole catalogue with its names and types', async () => {
    const body = await scrape();
    expect(body).toContain('# TYPE process_cpu_user_seconds_total counter');
    expect(body).toContain('# TYPE nodejs_heap_size_used_bytes gauge');
    for (const entry of CATALOGUE_ENTRIES) expect(body).toContain(`# TYPE ${entry.name} ${entry.kind}`);
  });

  it("the platform tenant's pushed samples feed the catalogue: counters add, gauges set, histograms observe", async () => {
    const venue = `venue-${newTenant().slice(0, 8)}`;
    await push(platform, [
      { name: 'tickets_sold_total', service: 'ticket', value: 3, labels: { venue_id: venue, event_id: 'e1', ticket_type: 'vip', extra: 'ignored' } },
      { name: 'tickets_sold_total', service: 'ticket', value: 2, labels: { venue_id: venue, event_id: 'e1', ticket_type: 'vip' } },
      { name: 'queue_size', service: 'ticket', value: 9, labels: { queue_name: `q-${venue}` } },
      { name: 'queue_size', service: 'ticket', value: 4, labels: { queue_name: `q-${venue}` } },
      { name: 'payment_processing_duration_ms', service: 'payment', value: 120, labels: { provider: venue, type: 'card' } },
    ]);
    await expect.poll(scrape).toContain(`tickets_sold_total{venue_id="${venue}",event_id="e1",ticket_type="vip"} 5`);
    const body = await scrape();
    expect(body).toContain(`queue_size{queue_name="q-${venue}"} 4`);
    expect(body).toContain(`payment_processing_duration_ms_count{provider="${venue}",type="card"} 1`);
    expect(body).toContain(`payment_processing_duration_ms_bucket{le="250",provider="${venue}",type="card"} 1`);
  });

  it('times every route by its pattern and every query by operation and table', async () => {
    const tenant = newTenant();
    await push(tenant, [{ name: 'timed', service: 'svc', value: 1 }]);
    await t.app.inject({ method: 'GET', url: `/api/v1/monitoring/metrics/service/${tenant}`, headers: await bearer(tenant, ['viewer']) });
    await t.app.inject({ method: 'GET', url: '/no/such/route' });
    const body = await scrape();
    expect(body).toMatch(/http_request_duration_ms_count\{method="POST",route="\/api\/v1\/monitoring\/metrics",status_code="202"\} \d+/);
    expect(body).toMatch(/http_request_duration_ms_count\{method="GET",route="\/api\/v1\/monitoring\/metrics\/service\/:service",status_code="200"\} \d+/);
    expect(body).toMatch(/http_request_duration_ms_count\{method="GET",route="unmatched",status_code="404"\} \d+/);
    // Routes are labelled by their pattern: the tenant id in the URL never becomes a route label
    // (it appears only as tenant_id of the tenant limit series).
    expect(body).not.toMatch(new RegExp(`route="[^"]*${tenant}`));
    expect(body).toMatch(/db_query_duration_ms_count\{operation="insert",table="metric_head"\} \d+/);
    expect(body).toMatch(/db_query_duration_ms_count\{operation="select",table="metrics"\} \d+/);
    expect(body).toMatch(/api_response_time_ms_count\{endpoint="POST \/api\/v1\/monitoring\/metrics",service="monitoring-service"\} \d+/);
  });

  it.skipIf(promtoolProgram.skip)('passes promtool check metrics, apart from the lints on names the audit fixes', async () => {
    // One sample of every catalogue metric, so every family has series in the output.
    await push(
      platform,
      CATALOGUE_ENTRIES.map((entry) => ({ name: entry.name, service: 'promtool', value: 1, labels: Object.fromEntries(entry.labels.map((label) => [label, `v-${label}`])) })),
    );
    await expect.poll(scrape).toContain('solana_errors_total{error_type="v-error_type"}');
    const { status, problems } = promtool(await scrape());
    expect(problems.filter((problem) => !AUDIT_NAME_LINTS.has(problem))).toEqual([]);
    // 0 = clean, 3 = lint findings only (1 would be a parse error).
    expect([0, 3]).toContain(status);
  });

  it.skipIf(promtoolProgram.skip)('the tenant export passes promtool check metrics cleanly', async () => {
    const tenant = newTenant();
    await push(tenant, [
      { name: 'orders_open', service: 'shop', value: 2, labels: { region: 'eu' } },
      { name: 'orders_open', service: 'shop', value: 3, labels: { region: 'us' } },
      { name: 'stock_level', service: 'warehouse', value: 1.5 },
    ]);
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/metrics/export', headers: await bearer(tenant, ['viewer']) });
    expect(promtool(response.body)).toEqual({ status: 0, problems: [] });
  });

  it('tenants pushing the same catalogue series do not mix in /metrics: only the platform tenant is exported, each tenant keeps its own export', async () => {
    const [a, b] = [newTenant(), newTenant()];
    const kind = `web-${a.slice(0, 8)}`;
    const venue = `venue-${a.slice(0, 8)}`;
    const gauge = (value: number) => ({ name: 'active_users', service: 'ticket', value, labels: { type: kind } });
    const counter = (value: number) => ({ name: 'tickets_sold_total', service: 'ticket', value, labels: { venue_id: venue, event_id: 'e1', ticket_type: 'vip' } });
    await push(a, [gauge(10), counter(3)]);
    await push(b, [gauge(20), counter(4)]);
    await push(platform, [gauge(7), counter(5)]);
    await push(a, [gauge(11)]);

    await expect.poll(scrape).toContain(`active_users{type="${kind}"} 7\n`);
    const body = await scrape();
    // A tenant's gauge never overwrites the platform's, and counters are not summed across tenants.
    expect(body).toContain(`tickets_sold_total{venue_id="${venue}",event_id="e1",ticket_type="vip"} 5\n`);
    expect(body.split('\n').filter((line) => line.includes(kind) || line.includes(venue))).toHaveLength(2);

    const exportOf = async (tenant: string) => {
      const response = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/metrics/export', headers: await bearer(tenant, ['viewer']) });
      expect(response.statusCode).toBe(200);
      return response.body.split('\n').filter((line) => line.startsWith('active_users{') || line.startsWith('tickets_sold_total{')).map((line) => line.replace(/ \d+$/, ''));
    };
    expect(await exportOf(a)).toEqual([`active_users{service="ticket",type="${kind}"} 11`, `tickets_sold_total{event_id="e1",service="ticket",ticket_type="vip",venue_id="${venue}"} 3`]);
    expect(await exportOf(b)).toEqual([`active_users{service="ticket",type="${kind}"} 20`, `tickets_sold_total{event_id="e1",service="ticket",ticket_type="vip",venue_id="${venue}"} 4`]);
  });

  it('refuses scrapers outside the allowlist without revealing metrics', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '10.1.2.3' });
    expect(response.statusCode).toBe(403);
    expect(response.json<{ error: { code: string } }>().error.code).toBe('FORBIDDEN');
    expect(response.body).not.toContain('process_cpu');
  });
});

describe('/metrics series cap (CATALOGUE_MAX_SERIES)', () => {
  const capped = newTenant();
  let small: TestApp;
  beforeAll(async () => {
    small = await createTestApp({ env: { SYSTEM_TENANT_ID: capped, CATALOGUE_MAX_SERIES: '2' } });
  });
  afterAll(async () => small.close());

  const scrapeSmall = async () => (await small.app.inject({ method: 'GET', url: '/metrics', remoteAddress: '127.0.0.1' })).body;

  it('drops the samples of new series past the cap and counts them; series already held keep updating', async () => {
    const queue = (name: string, value: number) => ({ name: 'queue_size', service: 'worker', value, labels: { queue_name: name } });
    await push(capped, [queue('q1', 1), queue('q2', 2), queue('q3', 3)], small);
    await push(capped, [queue('q4', 4), queue('q1', 10)], small);
    // Another tenant's samples are not exported at all, so they neither use nor exhaust the cap.
    await push(newTenant(), [queue('q5', 5)], small);

    await expect.poll(scrapeSmall).toContain('queue_size{queue_name="q1"} 10\n');
    const body = await scrapeSmall();
    expect(body).toContain('queue_size{queue_name="q2"} 2\n');
    expect(body).not.toContain('queue_name="q3"');
    expect(body).not.toContain('queue_name="q4"');
    expect(body).not.toContain('queue_name="q5"');
    expect(body).toContain('monitoring_catalogue_series_dropped_total{metric="queue_size"} 2\n');
  });
});
