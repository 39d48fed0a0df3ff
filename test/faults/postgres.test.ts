import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPrivatePostgres, type PrivatePostgres, type StopMode } from '../support/private-postgres.js';
import { createServiceProcess, sleep, type ServiceProcess } from '../support/service-process.js';
import { endedAt, Pusher, report, statusesOf, tally, waitFor, type Attempt } from './load.js';
import { acksOrExit, ensureRunning, errorLines, FAULT_TIMEOUT, finishLoad, isDependencyUnavailable, newTenant, readMetrics, ready, slowest, unavailable } from './stack.js';

/**
 * Issue 12, PostgreSQL: backends terminated, the server stopped fast and immediate, all under
 * push load. The service must not crash, must answer 503 DEPENDENCY_UNAVAILABLE with Retry-After
 * while the database is away, recover by itself, and store every acknowledged sample once.
 */
const skip = unavailable({});

describe.skipIf(skip !== undefined)('PostgreSQL faults under push load', () => {
  let pg: PrivatePostgres;
  let service: ServiceProcess;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    service = await createServiceProcess({ databaseUrl: pg.url() });
    await service.start();
  }, 120_000);

  afterAll(async () => {
    await service?.remove();
    await pg?.remove();
  });

  beforeEach(async () => {
    if (!pg.running()) await pg.start();
    await ensureRunning(service);
  }, 120_000);

  /** Every answer that is not a 202 must be a 503 DEPENDENCY_UNAVAILABLE: no 500, no dropped connection. */
  const unexpected = (attempts: readonly Attempt[]) => attempts.filter((item) => item.status !== 202 && !(item.status === 503 && item.code === 'DEPENDENCY_UNAVAILABLE'));

  it('backends terminated under load: no crash, failures are 503 DEPENDENCY_UNAVAILABLE, pushes go on, nothing lost or duplicated', FAULT_TIMEOUT, async () => {
    const tenant = await newTenant();
    const pusher = new Pusher({ url: service.url, token: tenant.token, workers: 4, batchSize: 200, pauseMs: 20 }).start();
    expect(await acksOrExit(pusher, service, 10, 30_000)).toBe(true);

    // Every 50 ms for 5 s: terminations land on backends mid-transaction and just after they connected.
    let terminated = 0;
    const until = Date.now() + 5_000;
    while (Date.now() < until && service.exit() === undefined) {
      terminated += await pg.terminateBackends();
      await sleep(50);
    }
    const afterwards = Date.now();
    const recovered = await acksOrExit(pusher, service, 10, 30_000);
    const { crashed } = await finishLoad(pusher, service);
    const counts = await tally(pg, pusher.run, pusher.acknowledgedSeqs());
    report('postgres: backends terminated', { terminated, crashed, recovered, ...counts, retriedBatches: pusher.retriedBatches(), statuses: statusesOf(pusher.attempts) });

    expect.soft(crashed, `the service exited:\n${errorLines(service)}`).toBeUndefined();
    expect.soft(recovered, 'pushes are acknowledged again after the terminations').toBe(true);
    expect.soft(statusesOf(unexpected(pusher.attempts)), 'answers other than 202 and 503 DEPENDENCY_UNAVAILABLE').toEqual({});
    expect.soft(pusher.attempts.filter((item) => item.at >= afterwards && item.status !== 202).length, 'failures after the last termination').toBeLessThanOrEqual(3);
    expect(counts).toMatchObject({ lost: 0, duplicates: 0, stored: counts.acknowledged });
  });

  it.each<StopMode>(['immediate', 'fast'])(
    'PostgreSQL stopped -m %s under load: 503 DEPENDENCY_UNAVAILABLE with Retry-After within 10 s, /health/ready down then up, recovery without a restart, nothing lost or duplicated',
    FAULT_TIMEOUT,
    async (mode) => {
      const tenant = await newTenant();
      const pusher = new Pusher({ url: service.url, token: tenant.token, workers: 3, batchSize: 50 }).start();
      expect(await acksOrExit(pusher, service, 10, 30_000)).toBe(true);
      const readyBefore = await ready(service);

      await pg.stop(mode);
      const down = Date.now();
      const reads: Attempt[] = [];
      const readiness: Attempt[] = [];
      const duringOutage = () => pusher.attempts.filter((item) => item.at >= down);
      // Hold the outage a few seconds, and until the pushers have been answered during it.
      while (service.exit() === undefined && (Date.now() - down < 4_000 || (duringOutage().length < 3 && Date.now() - down < 25_000))) {
        const [read, probe] = await Promise.all([readMetrics(service, tenant), ready(service)]);
        reads.push(read);
        readiness.push(probe);
        await sleep(300);
      }
      const up = Date.now();
      await pg.start();
      const outagePushes = pusher.attempts.filter((item) => item.at >= down && endedAt(item) <= up);

      const recovered = await acksOrExit(pusher, service, 10, 60_000);
      let readyAfter: Attempt | undefined;
      await waitFor(async () => {
        readyAfter = await ready(service);
        return readyAfter.status === 200 || service.exit() !== undefined;
      }, 30_000, 250);
      const readAfter = await readMetrics(service, tenant);
      const { crashed } = await finishLoad(pusher, service);
      const counts = await tally(pg, pusher.run, pusher.acknowledgedSeqs());
      report(`postgres: stop -m ${mode}`, {
        outageMs: up - down,
        crashed,
        recovered,
        ...counts,
        retriedBatches: pusher.retriedBatches(),
        outagePushes: statusesOf(outagePushes),
        outagePushSlowestMs: slowest(outagePushes),
        outagePushRetryAfter: [...new Set(outagePushes.map((item) => item.retryAfter ?? 'none'))],
        outageReads: statusesOf(reads),
        outageReadSlowestMs: slowest(reads),
        outageReady: statusesOf(readiness),
        readyAfter: readyAfter?.status,
        statuses: statusesOf(pusher.attempts),
      });

      expect.soft(crashed, `the service exited:\n${errorLines(service)}`).toBeUndefined();
      expect.soft(readyBefore.status).toBe(200);
      expect.soft(outagePushes.length, 'pushes answered during the outage').toBeGreaterThan(0);
      expect.soft(statusesOf(outagePushes.filter((item) => !isDependencyUnavailable(item))), 'pushes during the outage that were not a 503 DEPENDENCY_UNAVAILABLE with Retry-After within 10 s').toEqual({});
      expect.soft(statusesOf(reads.filter((item) => !isDependencyUnavailable(item))), 'reads during the outage that were not a 503 DEPENDENCY_UNAVAILABLE with Retry-After within 10 s').toEqual({});
      expect.soft(readiness.filter((item) => !(item.status === 503 && item.ms < 10_000 && JSON.stringify(item.body).includes('"down"'))).map((item) => `${item.status} ${item.ms}ms ${JSON.stringify(item.body)}`), '/health/ready during the outage').toEqual([]);
      expect.soft(statusesOf(unexpected(pusher.attempts)), 'answers other than 202 and 503 DEPENDENCY_UNAVAILABLE').toEqual({});
      expect.soft(recovered, 'pushes are acknowledged again after PostgreSQL is back, without restarting the service').toBe(true);
      expect.soft(readyAfter?.status, '/health/ready after PostgreSQL is back').toBe(200);
      expect.soft(readAfter.status, 'a read after PostgreSQL is back').toBe(200);
      expect(counts).toMatchObject({ lost: 0, duplicates: 0, stored: counts.acknowledged });
    },
  );
});
