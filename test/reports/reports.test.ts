import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { REPORT_GENERATION_JOB } from '../../src/reports/index.js';
import { findReport } from '../../src/reports/reports.repository.js';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { TEST_DATABASE_URL } from '../support/env.js';
import { requireProgram } from '../support/programs.js';
import { startSmtpServer } from '../support/smtp.js';

interface History {
  id: string;
  report_id: string;
  trigger: string;
  status: string;
  scheduled_for: string | null;
  range_from: string | null;
  range_to: string | null;
  file_url: string | null;
  row_count: number | null;
  byte_size: number | null;
  error: string | null;
  email_status: string | null;
}
interface Report {
  id: string;
  name: string;
  schedule: string | null;
  next_run_at: string | null;
  last_run_at: string | null;
}
type ErrorBody = { error: { code: string; message: string } };

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** pdfinfo and pdftotext read the generated PDF back as a PDF reader would. */
const pdfTools = requireProgram(['pdfinfo', 'pdftotext'], 'poppler-utils');

function parseCsv(text: string): string[][] {
  return text
    .trimEnd()
    .split('\r\n')
    .map((line) => line.split(','));
}

describe('reports', () => {
  const clock = new ManualClock(Date.UTC(2026, 1, 10, 10, 0, 0));
  const reportsDir = mkdtempSync(join(tmpdir(), 'reports-test-'));
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let testApp: TestApp;
  const env = () => ({ REPORTS_DIR: reportsDir, SMTP_HOST: '127.0.0.1', SMTP_PORT: String(smtp.port), REPORT_GENERATION_INTERVAL_MS: '60000', REPORT_MAX_ROWS: '500' });

  beforeAll(async () => {
    smtp = await startSmtpServer();
    testApp = await createTestApp({ clock, env: env() });
  });
  afterAll(async () => {
    await testApp?.close();
    await smtp.close();
    rmSync(reportsDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    // A fresh scheduler cycle for each test.
    clock.advance(60_000);
  });

  const call = async (tenant: string, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown, roles: Array<'admin' | 'operator' | 'viewer' | 'monitoring'> = ['admin']) =>
    testApp.app.inject({ method, url, headers: { ...(await bearer(tenant, roles)), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) }, payload: payload === undefined ? undefined : JSON.stringify(payload) });
  const createReport = async (tenant: string, body: Record<string, unknown>): Promise<Report> => {
    const response = await call(tenant, 'POST', '/api/v1/monitoring/reports', body);
    expect(response.statusCode, response.body).toBe(201);
    return response.json<Report>();
  };
  const generate = async (tenant: string, id: string, body?: unknown): Promise<History> => {
    const response = await call(tenant, 'POST', `/api/v1/monitoring/reports/${id}/generate`, body ?? {}, ['operator']);
    expect(response.statusCode, response.body).toBe(201);
    return response.json<History>();
  };
  const download = async (tenant: string, history: History) => testApp.app.inject({ method: 'GET', url: history.file_url ?? '', headers: await bearer(tenant, ['viewer']) });
  const historyOf = async (tenant: string, id: string): Promise<History[]> => (await call(tenant, 'GET', `/api/v1/monitoring/reports/${id}/history`, undefined, ['viewer'])).json<{ data: History[] }>().data;

  /** Pushes samples through the real API: value per (hour offset from the start of the day). */
  const pushLatency = async (tenant: string, day: number, points: Array<[hour: number, minute: number, value: number]>) => {
    const metrics = points.map(([hour, minute, value]) => ({ name: 'checkout_latency_ms', service: 'payment-service', value, timestamp: new Date(day + hour * HOUR + minute * 60_000).toISOString() }));
    const response = await call(tenant, 'POST', '/api/v1/monitoring/metrics', { metrics }, ['monitoring']);
    expect(response.statusCode, response.body).toBe(202);
  };

  it('creates, reads, replaces and deletes report definitions', async () => {
    const tenant = newTenant();
    const created = await createReport(tenant, { name: 'Latency', query: { source: 'metrics', metric_name: 'checkout_latency_ms', range: { last: '24h' }, group_by: 'hour' }, format: 'csv', schedule: 'daily', recipients: ['ops@example.com'] });
    expect(created).toMatchObject({ name: 'Latency', schedule: 'daily', next_run_at: '2026-02-11T00:00:00.000Z', last_run_at: null, recipients: ['ops@example.com'], enabled: true });
    expect((await call(tenant, 'GET', `/api/v1/monitoring/reports/${created.id}`, undefined, ['viewer'])).json<Report>().name).toBe('Latency');

    const replaced = await call(tenant, 'PUT', `/api/v1/monitoring/reports/${created.id}`, { name: 'Latency weekly', query: { source: 'metrics', metric_name: 'checkout_latency_ms', range: { last: '7d' }, group_by: 'day' }, format: 'pdf', schedule: 'weekly', recipients: [] });
    expect(replaced.statusCode).toBe(200);
    // 2026-02-10 is a Tuesday: weekly runs on Monday 00:00 UTC.
    expect(replaced.json<Report>()).toMatchObject({ name: 'Latency weekly', schedule: 'weekly', next_run_at: '2026-02-16T00:00:00.000Z' });
    const cron = await call(tenant, 'PUT', `/api/v1/monitoring/reports/${created.id}`, { name: 'At 06:30', query: { source: 'alerts', range: { last: '24h' } }, format: 'json', schedule: '30 6 * * *' });
    expect(cron.json<Report>().next_run_at).toBe('2026-02-11T06:30:00.000Z');

    const list = await call(tenant, 'GET', '/api/v1/monitoring/reports', undefined, ['viewer']);
    expect(list.json<{ data: Report[] }>().data.map((report) => report.id)).toEqual([created.id]);
    expect((await call(newTenant(), 'GET', `/api/v1/monitoring/reports/${created.id}`, undefined, ['viewer'])).statusCode).toBe(404);

    expect((await call(tenant, 'DELETE', `/api/v1/monitoring/reports/${created.id}`)).statusCode).toBe(204);
    expect((await call(tenant, 'GET', `/api/v1/monitoring/reports/${created.id}`, undefined, ['viewer'])).json<ErrorBody>().error.code).toBe('NOT_FOUND');
    expect((await call(tenant, 'DELETE', `/api/v1/monitoring/reports/${created.id}`)).statusCode).toBe(404);
  });

  it('refuses bad definitions and non-admins with a code, writing nothing', async () => {
    const tenant = newTenant();
    const valid = { name: 'R', query: { source: 'alerts', range: { last: '24h' } }, format: 'csv', schedule: 'daily' };
    const cases: Array<Record<string, unknown>> = [
      { ...valid, schedule: 'every tuesday' },
      { ...valid, schedule: '* * * * *' },
      { ...valid, format: 'xlsx' },
      { ...valid, recipients: ['not-an-address'] },
      { ...valid, query: { source: 'alerts', range: { last: '24h' }, group_by: 'bucket' } },
      { ...valid, query: { source: 'metrics', range: { last: '24h' } } },
      { ...valid, query: { source: 'logs', range: { last: '24h' } } },
      { ...valid, query: { source: 'alerts', range: { from: '2026-02-10T00:00:00Z', to: '2026-02-01T00:00:00Z' } } },
      { ...valid, query: { source: 'alerts', range: { last: '24h' }, metric_name: 'x' } },
      { ...valid, extra: 1 },
    ];
    for (const body of cases) {
      const response = await call(tenant, 'POST', '/api/v1/monitoring/reports', body);
      expect(response.statusCode, JSON.stringify(body)).toBe(400);
      expect(response.json<ErrorBody>().error.code).toBe('VALIDATION_FAILED');
    }
    const viewer = await call(tenant, 'POST', '/api/v1/monitoring/reports', valid, ['viewer']);
    expect(viewer.statusCode).toBe(403);
    expect(viewer.json<ErrorBody>().error.code).toBe('FORBIDDEN');
    const operator = await call(tenant, 'POST', '/api/v1/monitoring/reports', valid, ['operator']);
    expect(operator.statusCode).toBe(403);
    expect((await call(tenant, 'GET', '/api/v1/monitoring/reports', undefined, ['viewer'])).json<{ data: Report[] }>().data).toEqual([]);

    const report = await createReport(tenant, valid);
    const badPut = await call(tenant, 'PUT', `/api/v1/monitoring/reports/${report.id}`, { ...valid, name: 'changed', schedule: 'nope' });
    expect(badPut.json<ErrorBody>().error.code).toBe('VALIDATION_FAILED');
    expect((await call(tenant, 'GET', `/api/v1/monitoring/reports/${report.id}`, undefined, ['viewer'])).json<Report>().name).toBe('R');
    const badRange = await call(tenant, 'POST', `/api/v1/monitoring/reports/${report.id}/generate`, { range: { last: '0h' } }, ['operator']);
    expect(badRange.json<ErrorBody>().error.code).toBe('VALIDATION_FAILED');
    const viewerGenerate = await call(tenant, 'POST', `/api/v1/monitoring/reports/${report.id}/generate`, {}, ['viewer']);
    expect(viewerGenerate.statusCode).toBe(403);
    expect(await historyOf(tenant, report.id)).toEqual([]);
  });

  it('generates a CSV on demand whose rows equal the stored samples, per hour', async () => {
    const tenant = newTenant();
    const day = Date.UTC(2026, 1, 9);
    const points: Array<[number, number, number]> = [[1, 5, 120], [1, 20, 180], [1, 40, 90], [2, 0, 300], [5, 30, 75], [5, 31, 25]];
    await pushLatency(tenant, day, points);
    const report = await createReport(tenant, { name: 'Checkout latency', query: { source: 'metrics', metric_name: 'checkout_latency_ms', range: { from: '2026-02-09T00:00:00Z', to: '2026-02-10T00:00:00Z' }, group_by: 'hour' }, format: 'csv' });
    const history = await generate(tenant, report.id);
    expect(history).toMatchObject({ status: 'succeeded', trigger: 'manual', row_count: 3, error: null, range_from: '2026-02-09T00:00:00.000Z', range_to: '2026-02-10T00:00:00.000Z', email_status: 'not_requested' });

    const file = await download(tenant, history);
    expect(file.statusCode).toBe(200);
    expect(file.headers['content-type']).toContain('text/csv');
    expect(file.headers['content-disposition']).toContain('Checkout_latency-');
    expect(Number(file.headers['content-length'] ?? file.rawPayload.byteLength)).toBe(history.byte_size);
    const [header, ...rows] = parseCsv(file.body);
    expect(header).toEqual(['bucket', 'samples', 'avg', 'min', 'max', 'sum']);
    const byHour = new Map<number, number[]>();
    for (const [hour, , value] of points) byHour.set(hour, [...(byHour.get(hour) ?? []), value]);
    const expected = [...byHour].map(([hour, values]) => [new Date(day + hour * HOUR).toISOString(), values.length, values.reduce((a, b) => a + b, 0) / values.length, Math.min(...values), Math.max(...values), values.reduce((a, b) => a + b, 0)] as const);
    expect(rows).toHaveLength(expected.length);
    rows.forEach((row, index) => {
      const want = expected[index];
      expect(row[0]).toBe(want?.[0]);
      expect(Number(row[1])).toBe(want?.[1]);
      expect(Number(row[2])).toBeCloseTo(want?.[2] ?? NaN, 9);
      expect(row.slice(3).map(Number)).toEqual(want?.slice(3));
    });

    // Other tenants cannot download it.
    expect((await download(newTenant(), history)).statusCode).toBe(404);
    // A file gone from REPORTS_DIR answers NOT_FOUND, saying so.
    rmSync(join(reportsDir, tenant, report.id, `${history.id}.csv`));
    const gone = await download(tenant, history);
    expect(gone.statusCode).toBe(404);
    expect(gone.json<ErrorBody>().error.message).toContain('no longer in REPORTS_DIR');
  });

  it('generates JSON whose rows equal the stored alerts', async () => {
    const tenant = newTenant();
    const { db } = testApp.container;
    await db.withTenant(tenant, (tx) =>
      tx.query(
        `INSERT INTO alerts (tenant_id, fingerprint, name, type, severity, message, source, service_name, status, resolved, starts_at, resolved_at)
         SELECT $1, 'fp-' || n, 'HighLatency' || n, 'threshold', (ARRAY['warning','critical','info'])[1 + n % 3], 'latency, "p95" above 500', 'rule', 'payment-service',
                CASE WHEN n % 2 = 0 THEN 'resolved' ELSE 'firing' END, n % 2 = 0, $2::timestamptz + n * interval '1 hour', CASE WHEN n % 2 = 0 THEN $2::timestamptz + n * interval '1 hour' + interval '10 minutes' END
         FROM generate_series(1, 5) AS n`,
        [tenant, new Date(clock.nowMs() - 12 * HOUR).toISOString()],
      ),
    );
    const report = await createReport(tenant, { name: 'Alerts of the day', query: { source: 'alerts', range: { last: '1d' } }, format: 'json' });
    const history = await generate(tenant, report.id);
    expect(history.status).toBe('succeeded');
    const document = (await download(tenant, history)).json<{ report: { id: string; name: string }; range: { from: string; to: string }; columns: string[]; rows: Array<Record<string, unknown>> }>();
    expect(document.report).toEqual({ id: report.id, name: 'Alerts of the day' });
    expect(document.range).toEqual({ from: new Date(clock.nowMs() - DAY).toISOString(), to: clock.now().toISOString() });
    const stored = await db.withTenant(tenant, (tx) =>
      tx.query<{ id: string; name: string; severity: string; status: string; service_name: string; starts_at: Date; resolved_at: Date | null; message: string }>(
        'SELECT id, name, severity, status, service_name, starts_at, resolved_at, message FROM alerts WHERE tenant_id = $1 ORDER BY starts_at, id',
        [tenant],
      ),
    );
    expect(document.rows).toEqual(stored.rows.map((row) => ({ ...row, starts_at: row.starts_at.toISOString(), resolved_at: row.resolved_at?.toISOString() ?? null })));
    expect(document.rows).toHaveLength(5);

    // The same query as CSV quotes the message that holds a comma and quotes.
    await call(tenant, 'PUT', `/api/v1/monitoring/reports/${report.id}`, { name: 'Alerts of the day', query: { source: 'alerts', range: { last: '1d' } }, format: 'csv' });
    const csv = (await download(tenant, await generate(tenant, report.id))).body;
    expect(csv).toContain('"latency, ""p95"" above 500"');
    expect(csv.trimEnd().split('\r\n')).toHaveLength(6);
  });

  it.skipIf(pdfTools.skip)('renders a PDF that opens and carries the title, the range, the table and the chart', async () => {
    const tenant = newTenant();
    const day = Date.UTC(2026, 1, 9);
    await pushLatency(tenant, day, Array.from({ length: 24 }, (_, hour): [number, number, number] => [hour, 10, 100 + hour * 7]));
    const report = await createReport(tenant, { name: 'Checkout latency PDF', query: { source: 'metrics', metric_name: 'checkout_latency_ms', range: { from: '2026-02-09T00:00:00Z', to: '2026-02-10T00:00:00Z' }, group_by: 'hour' }, format: 'pdf' });
    const history = await generate(tenant, report.id);
    expect(history.status).toBe('succeeded');
    const file = await download(tenant, history);
    expect(file.headers['content-type']).toBe('application/pdf');
    const path = join(reportsDir, `check-${history.id}.pdf`);
    writeFileSync(path, file.rawPayload);
    const info = execFileSync('pdfinfo', [path], { encoding: 'utf8' });
    expect(info).toMatch(/Title:\s+Checkout latency PDF/);
    expect(info).toMatch(/Pages:\s+[1-9]/);
    const text = execFileSync('pdftotext', ['-layout', path, '-'], { encoding: 'utf8' });
    expect(text).toContain('Checkout latency PDF');
    expect(text).toContain('Range: 2026-02-09T00:00:00.000Z to 2026-02-10T00:00:00.000Z (UTC)');
    expect(text).toContain('checkout_latency_ms (average)');
    expect(text).toMatch(/bucket\s+samples\s+avg\s+min\s+max\s+sum/);
    expect(text).toContain('2026-02-09T23:00:00.000Z');
    // The chart is vector drawing: the page content has path operators, not an image.
    expect(file.rawPayload.includes(Buffer.from('/Subtype /Image'))).toBe(false);
  });

  it('reports the sales pushed to this service, grouped by channel', async () => {
    const { db } = testApp.container;
    const tenant = newTenant();
    const soldAt = new Date(clock.nowMs() - 2 * HOUR);
    await db.withTenant(tenant, (tx) =>
      tx.query(
        `INSERT INTO sales (tenant_id, sale_id, event_id, tickets, amount_cents, currency, channel, sold_at)
         SELECT $1, 'sale-' || n, 'e' || (n % 2), n, n * 1000, 'EUR', CASE WHEN n <= 3 THEN 'web' ELSE 'box_office' END, $2 FROM generate_series(1, 5) AS n`,
        [tenant, soldAt],
      ),
    );
    const report = await createReport(tenant, { name: 'Sales by channel', query: { source: 'sales', range: { last: '24h' }, group_by: 'channel' }, format: 'json' });
    const history = await generate(tenant, report.id);
    expect(history.status).toBe('succeeded');
    const document = (await download(tenant, history)).json<{ columns: string[]; rows: unknown[] }>();
    expect(document.columns).toEqual(['channel', 'sales', 'tickets', 'amount_cents']);
    expect(document.rows).toEqual([
      { channel: 'box_office', sales: 2, tickets: 9, amount_cents: 9000 },
      { channel: 'web', sales: 3, tickets: 6, amount_cents: 6000 },
    ]);
  });

  it('records a failing generation as failed with its error, and serves no file for it', async () => {
    const tenant = newTenant();
    const report = await createReport(tenant, { name: 'Broken', query: { source: 'alerts', range: { last: '24h' } }, format: 'csv' });
    // A plain file where the tenant's directory must go: writing the report fails.
    writeFileSync(join(reportsDir, tenant), 'not a directory');
    const history = await generate(tenant, report.id);
    expect(history.status).toBe('failed');
    expect(history.error).toMatch(/ENOTDIR|EEXIST|not a directory/i);
    expect(history.file_url).toBeNull();
    const [stored] = await historyOf(tenant, report.id);
    expect(stored).toMatchObject({ id: history.id, status: 'failed', error: history.error });
    const noFile = await testApp.app.inject({ method: 'GET', url: `/api/v1/monitoring/reports/${report.id}/history/${history.id}/download`, headers: await bearer(tenant, ['viewer']) });
    expect(noFile.statusCode).toBe(404);
    expect(noFile.json<ErrorBody>().error.code).toBe('NOT_FOUND');
  });

  it('records a report with too many rows as failed with the reason', async () => {
    const tenant = newTenant();
    const day = Date.UTC(2026, 1, 9);
    await pushLatency(tenant, day, Array.from({ length: 600 }, (_, index): [number, number, number] => [Math.floor(index / 60), index % 60, index]));
    const report = await createReport(tenant, { name: 'Too fine', query: { source: 'metrics', metric_name: 'checkout_latency_ms', range: { from: '2026-02-09T00:00:00Z', to: '2026-02-10T00:00:00Z' }, group_by: 'minute' }, format: 'json' });
    const history = await generate(tenant, report.id);
    expect(history).toMatchObject({ status: 'failed', file_url: null });
    expect(history.error).toContain('more than 500 rows');
  });

  it('generates a scheduled daily report once at its time and e-mails it', async () => {
    const tenant = newTenant();
    clock.set(Date.UTC(2026, 1, 12, 15, 0, 0));
    await pushLatency(tenant, Date.UTC(2026, 1, 12), [[3, 0, 10], [9, 0, 20]]);
    const name = `Daily latency ${tenant.slice(0, 8)}`;
    const report = await createReport(tenant, { name, query: { source: 'metrics', metric_name: 'checkout_latency_ms', range: { last: '24h' }, group_by: 'hour' }, format: 'csv', schedule: 'daily', recipients: ['ops@example.com', 'cto@example.com'] });
    expect(report.next_run_at).toBe('2026-02-13T00:00:00.000Z');

    // Before its time: nothing.
    expect((await testApp.container.scheduler.runNow(REPORT_GENERATION_JOB)).status).toBe('ran');
    expect(await historyOf(tenant, report.id)).toEqual([]);

    const mailsBefore = smtp.messages.length;
    clock.set(Date.UTC(2026, 1, 13, 0, 0, 20));
    expect((await testApp.container.scheduler.runNow(REPORT_GENERATION_JOB)).status).toBe('ran');
    expect((await testApp.container.scheduler.runNow(REPORT_GENERATION_JOB)).status).toBe('skipped-claimed');
    clock.advance(60_000);
    expect((await testApp.container.scheduler.runNow(REPORT_GENERATION_JOB)).status).toBe('ran');

    const runs = await historyOf(tenant, report.id);
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ trigger: 'schedule', status: 'succeeded', scheduled_for: '2026-02-13T00:00:00.000Z', range_from: '2026-02-12T00:00:00.000Z', range_to: '2026-02-13T00:00:00.000Z', row_count: 2, email_status: 'sent' });
    const after = (await call(tenant, 'GET', `/api/v1/monitoring/reports/${report.id}`, undefined, ['viewer'])).json<Report>();
    expect(after).toMatchObject({ next_run_at: '2026-02-14T00:00:00.000Z', last_run_at: '2026-02-13T00:00:20.000Z' });

    const mails = smtp.messages.slice(mailsBefore).filter((mail) => mail.subject.includes(name));
    expect(mails).toHaveLength(1);
    expect(mails[0]?.to.sort()).toEqual(['cto@example.com', 'ops@example.com']);
    expect(mails[0]?.raw).toContain(`Daily_latency_${tenant.slice(0, 8)}.csv`);
    expect(mails[0]?.subject).toContain('2026-02-12T00:00:00.000Z to 2026-02-13T00:00:00.000Z');

    // An on-demand run answers with the e-mail outcome it recorded.
    const manual = await generate(tenant, report.id);
    expect(manual).toMatchObject({ trigger: 'manual', status: 'succeeded', email_status: 'sent' });
    expect(smtp.messages.slice(mailsBefore).filter((mail) => mail.subject.includes(name))).toHaveLength(2);
  });

  it('claims a scheduled run once even when two generators race for it', async () => {
    const tenant = newTenant();
    clock.set(Date.UTC(2026, 1, 20, 12, 0, 0));
    const created = await createReport(tenant, { name: 'Race', query: { source: 'alerts', range: { last: '24h' } }, format: 'json', schedule: 'daily' });
    clock.set(Date.UTC(2026, 1, 21, 0, 0, 5));
    const { generator } = testApp.container.reports;
    const row = await testApp.container.db.withTenant(tenant, (tx) => findReport(tx, tenant, created.id));
    expect(row).not.toBeNull();
    if (row === null) return;
    const results = await Promise.all([1, 2, 3].map(() => generator.generate(row, { trigger: 'schedule', scheduledFor: new Date(Date.UTC(2026, 1, 21)) })));
    expect(results.filter((result) => result !== null)).toHaveLength(1);
    expect(await historyOf(tenant, created.id)).toHaveLength(1);
  });

  it.skipIf(TEST_DATABASE_URL === undefined)('runs a scheduled report once with two instances on the same PostgreSQL (skipped without TEST_DATABASE_URL)', async () => {
    const tenant = newTenant();
    const secondClock = new ManualClock(clock.nowMs());
    const second = await createTestApp({ clock: secondClock, env: env(), jobClaimScope: testApp.jobClaimScope });
    try {
      clock.set(Date.UTC(2026, 2, 1, 9, 0, 0));
      const report = await createReport(tenant, { name: 'Two instances', query: { source: 'alerts', range: { last: '24h' } }, format: 'csv', schedule: 'daily' });
      expect(report.next_run_at).toBe('2026-03-02T00:00:00.000Z');
      clock.set(Date.UTC(2026, 2, 2, 0, 0, 30));
      secondClock.set(clock.nowMs());
      // Through the schedulers (cluster claim) and straight through the job (the UNIQUE claim), both at once.
      const outcomes = await Promise.all([testApp.container.scheduler.runNow(REPORT_GENERATION_JOB), second.container.scheduler.runNow(REPORT_GENERATION_JOB)]);
      expect(outcomes.map((outcome) => outcome.status).sort()).toEqual(['ran', 'skipped-claimed']);
      await Promise.all([testApp.container.reports.runDue(clock.now(), new AbortController().signal), second.container.reports.runDue(secondClock.now(), new AbortController().signal)]);
      const runs = await historyOf(tenant, report.id);
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ status: 'succeeded', scheduled_for: '2026-03-02T00:00:00.000Z' });
    } finally {
      await second.close();
    }
  });
});

describe('report e-mail retries', () => {
  const clock = new ManualClock(Date.UTC(2026, 3, 1, 10, 0, 0));
  const reportsDir = mkdtempSync(join(tmpdir(), 'reports-retry-test-'));
  const received: string[] = [];
  let refusing = true;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        // A temporary refusal (4xx) until the test lets mail through.
        if (refusing) return callback(Object.assign(new Error('mailbox busy, try later'), { responseCode: 451 }));
        received.push(Buffer.concat(chunks).toString('utf8'));
        return callback();
      });
    },
  });
  let testApp: TestApp;

  beforeAll(async () => {
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const { port } = smtp.server.address() as AddressInfo;
    testApp = await createTestApp({ clock, env: { REPORTS_DIR: reportsDir, SMTP_HOST: '127.0.0.1', SMTP_PORT: String(port), REPORT_GENERATION_INTERVAL_MS: '60000' } });
  });
  afterAll(async () => {
    await testApp?.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    rmSync(reportsDir, { recursive: true, force: true });
  });

  it('keeps a temporarily refused e-mail as retrying and sends it on a later job cycle', async () => {
    const tenant = newTenant();
    const name = `Retried ${tenant.slice(0, 8)}`;
    const headers = { ...(await bearer(tenant, ['admin'])), 'content-type': 'application/json' };
    const created = await testApp.app.inject({ method: 'POST', url: '/api/v1/monitoring/reports', headers, payload: JSON.stringify({ name, query: { source: 'alerts', range: { last: '24h' } }, format: 'csv', recipients: ['ops@example.com'] }) });
    expect(created.statusCode, created.body).toBe(201);
    const report = created.json<Report>();
    const generated = await testApp.app.inject({ method: 'POST', url: `/api/v1/monitoring/reports/${report.id}/generate`, headers, payload: '{}' });
    expect(generated.statusCode, generated.body).toBe(201);
    const history = generated.json<History & { email_error: string | null }>();
    expect(history).toMatchObject({ status: 'succeeded', email_status: 'retrying' });
    expect(history.email_error).toContain('451');
    expect(received).toEqual([]);

    refusing = false;
    clock.advance(60_000);
    expect((await testApp.container.scheduler.runNow(REPORT_GENERATION_JOB)).status).toBe('ran');
    const listed = await testApp.app.inject({ method: 'GET', url: `/api/v1/monitoring/reports/${report.id}/history`, headers: await bearer(tenant, ['viewer']) });
    expect(listed.json<{ data: Array<History & { email_error: string | null }> }>().data).toEqual([expect.objectContaining({ id: history.id, email_status: 'sent', email_error: null })]);
    expect(received.filter((raw) => raw.includes(name))).toHaveLength(1);
  });
});
