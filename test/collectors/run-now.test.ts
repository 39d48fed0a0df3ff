import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUSINESS_COLLECTOR } from '../../src/collectors/business/index.js';
import { ManualClock } from '../../src/platform/clock.js';
import { bearer, createTestApp, type TestApp } from '../support/app.js';

const INTERVAL = 300_000;
const START = Date.UTC(2026, 0, 10, 12, 1, 0);

describe('collector "run now"', () => {
  const clock = new ManualClock(START);
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ clock, env: { BUSINESS_COLLECTOR_INTERVAL_MS: String(INTERVAL) } });
  });
  afterAll(async () => t?.close());

  const platform = () => t.container.config.SYSTEM_TENANT_ID;
  const runNow = async () => t.app.inject({ method: 'POST', url: `/api/v1/monitoring/collectors/${BUSINESS_COLLECTOR}/run`, headers: await bearer(platform(), ['admin']) });
  /** When the business collector last tried its sources for the platform tenant (it has no upstream here: not_configured). */
  const lastAttempts = async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/collectors', headers: await bearer(platform(), ['viewer']) });
    const rows = response.json<{ data: Array<{ collector: string; last_attempt_at: string }> }>().data;
    return [...new Set(rows.filter((row) => row.collector === BUSINESS_COLLECTOR).map((row) => row.last_attempt_at))];
  };
  const jobRun = async () => {
    const result = await t.container.db.asSystem((tx) =>
      tx.query<{ cycle: string; lease_until: Date; last_finished_at: Date | null; last_started_at: Date }>('SELECT cycle::text, lease_until, last_started_at, last_finished_at FROM job_runs WHERE job_name = $1', [
        t.container.scheduler.claimKey(BUSINESS_COLLECTOR),
      ]),
    );
    return result.rows[0];
  };

  // Issue 15: right after the scheduler's run of a cycle, "run now" answered skipped-claimed and ran nothing.
  it('runs even though the scheduler already ran this cycle, and leaves the cycle to the scheduler', async () => {
    expect((await t.container.scheduler.runNow(BUSINESS_COLLECTOR)).status).toBe('ran');
    expect(await lastAttempts()).toEqual([new Date(START).toISOString()]);
    const cycle = (await jobRun())?.cycle;

    clock.advance(10_000);
    const response = await runNow();
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ name: BUSINESS_COLLECTOR, status: 'ran' });
    expect(await lastAttempts()).toEqual([clock.now().toISOString()]);
    expect(await jobRun()).toMatchObject({ cycle, last_started_at: clock.now() });

    // Twice in a row too; the scheduled claim of the cycle already run is still refused.
    clock.advance(10_000);
    expect((await runNow()).json()).toMatchObject({ status: 'ran' });
    expect((await t.container.scheduler.runNow(BUSINESS_COLLECTOR)).status).toBe('skipped-claimed');
    // The next cycle is the scheduler's, manual runs notwithstanding.
    clock.advance(INTERVAL);
    expect((await t.container.scheduler.runNow(BUSINESS_COLLECTOR)).status).toBe('ran');
  });

  it('answers 409 CONFLICT with when it can run while a run holds the collector (here: another instance)', async () => {
    const leaseUntil = new Date(clock.nowMs() + 45_000);
    // Another instance of the deployment claimed the collector and is still running it.
    await t.container.db.asSystem((tx) =>
      tx.query('UPDATE job_runs SET last_started_at = $2, lease_until = $3, last_finished_at = NULL WHERE job_name = $1', [t.container.scheduler.claimKey(BUSINESS_COLLECTOR), clock.now(), leaseUntil]),
    );
    const before = await lastAttempts();
    const response = await runNow();
    expect(response.statusCode).toBe(409);
    expect(response.headers['retry-after']).toBe('45');
    expect(response.json<{ error: unknown }>().error).toMatchObject({ code: 'CONFLICT', details: { collector: BUSINESS_COLLECTOR, busy_until: leaseUntil.toISOString(), retryAfterSeconds: 45 } });
    expect(await lastAttempts()).toEqual(before);

    // Once that run's lease is over, it runs.
    clock.set(leaseUntil.getTime() + 1);
    expect((await runNow()).json()).toMatchObject({ status: 'ran' });
  });
});
