import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keyHash } from '../../src/platform/bus/partition.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';
import { createServiceProcess, sleep, type ServiceProcess } from '../support/service-process.js';
import { attempt, Pusher, report, statusesOf, tally, waitFor, type Attempt } from './load.js';
import { acksOrExit, ensureRunning, errorLines, FAULT_TIMEOUT, finishLoad, newTenant, signedPush, slowest, unavailable, type Tenant } from './stack.js';

/**
 * Issue 12, Redis (cache, HMAC nonce store, bus with BUS=redis): frozen with SIGSTOP, stopped,
 * restarted empty, under push load. Storing never needs Redis; what does need it fails fast
 * with 503; the bus consumers recover by themselves.
 */
const skip = unavailable({ redis: true });
const PARTITIONS = 8;

describe.skipIf(skip !== undefined)('Redis faults under push load (BUS=redis)', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let service: ServiceProcess;

  beforeAll(async () => {
    [pg, redis] = await Promise.all([startPrivatePostgres(), startPrivateRedis()]);
    service = await createServiceProcess({ databaseUrl: pg.url(), redisUrl: redis.url, bus: 'redis', env: { BUS_REDIS_PARTITIONS: String(PARTITIONS) } });
    await service.start();
  }, 120_000);

  afterAll(async () => {
    await service?.remove();
    await redis?.remove();
    await pg?.remove();
  });

  beforeEach(async () => {
    redis.thaw();
    await redis.start();
    await ensureRunning(service);
  }, 120_000);

  const overview = (tenant: Tenant) => attempt(service.url, { method: 'GET', path: '/api/v1/monitoring/dashboard/overview', headers: tenant.headers, timeoutMs: 20_000 });

  it('Redis frozen (SIGSTOP): every push still answers 202 within 5 s, signed pushes answer fast, nothing lost or duplicated', FAULT_TIMEOUT, async () => {
    const tenant = await newTenant();
    const pusher = new Pusher({ url: service.url, token: tenant.token, workers: 3, batchSize: 50 }).start();
    expect(await acksOrExit(pusher, service, 5, 30_000)).toBe(true);

    redis.freeze();
    const frozenAt = Date.now();
    const signed: Attempt[] = [];
    const signedAcked: string[] = [];
    const frozenPushes = () => pusher.attempts.filter((item) => item.at >= frozenAt);
    // Stay frozen 6 s, and until a few pushes were answered (a stalled service answers none).
    while (service.exit() === undefined && (Date.now() - frozenAt < 6_000 || (frozenPushes().length < 6 && Date.now() - frozenAt < 15_000))) {
      const answer = await signedPush(service, tenant, pusher.run, `signed-frozen-${signed.length}`);
      signed.push(answer);
      if (answer.status === 202) signedAcked.push(...answer.seqs);
      await sleep(500);
    }
    const thawedAt = Date.now();
    redis.thaw();
    const recovered = await acksOrExit(pusher, service, 5, 30_000);
    const { crashed } = await finishLoad(pusher, service);
    const duringFreeze = pusher.attempts.filter((item) => item.at >= frozenAt && item.at < thawedAt);
    const counts = await tally(pg, pusher.run, [...pusher.acknowledgedSeqs(), ...signedAcked]);
    report('redis: frozen', { frozenMs: thawedAt - frozenAt, crashed, recovered, ...counts, frozenPushes: statusesOf(duringFreeze), frozenPushSlowestMs: slowest(duringFreeze), signed: statusesOf(signed), signedSlowestMs: slowest(signed), statuses: statusesOf(pusher.attempts) });

    expect.soft(crashed, `the service exited:\n${errorLines(service)}`).toBeUndefined();
    expect.soft(duringFreeze.length, 'pushes answered while Redis was frozen').toBeGreaterThanOrEqual(3);
    expect.soft(statusesOf(duringFreeze.filter((item) => item.status !== 202)), 'pushes while frozen that were not 202').toEqual({});
    expect.soft(slowest(duringFreeze), 'slowest push while frozen (ms)').toBeLessThan(5_000);
    expect.soft(signed.filter((item) => !(item.ms < 5_000 && (item.status === 202 || (item.status === 503 && item.code === 'DEPENDENCY_UNAVAILABLE')))).map((item) => `${item.status} ${item.code ?? ''} ${item.ms}ms`), 'signed pushes while frozen: 202 or 503 DEPENDENCY_UNAVAILABLE within 5 s').toEqual([]);
    expect.soft(recovered, 'pushes acknowledged after the thaw').toBe(true);
    expect(counts).toMatchObject({ lost: 0, duplicates: 0, stored: counts.acknowledged });
  });

  it('Redis stopped: pushes answer 202, signed pushes 503 DEPENDENCY_UNAVAILABLE fast, cached dashboard reads 200 uncached; back to normal when Redis returns', FAULT_TIMEOUT, async () => {
    const tenant = await newTenant();
    const pusher = new Pusher({ url: service.url, token: tenant.token, workers: 3, batchSize: 50 }).start();
    expect(await acksOrExit(pusher, service, 5, 30_000)).toBe(true);
    const signedAcked: string[] = [];
    const signedBefore = await signedPush(service, tenant, pusher.run, 'signed-before');
    if (signedBefore.status === 202) signedAcked.push(...signedBefore.seqs);
    const overviewBefore = await overview(tenant); // fills the cache

    await redis.stop();
    const stoppedAt = Date.now();
    const pushedWhileDown = await acksOrExit(pusher, service, 5, 30_000);
    const signedDown: Attempt[] = [];
    const overviewsDown: Attempt[] = [];
    for (let index = 0; index < 3 && service.exit() === undefined; index += 1) {
      const answer = await signedPush(service, tenant, pusher.run, `signed-down-${index}`);
      signedDown.push(answer);
      if (answer.status === 202) signedAcked.push(...answer.seqs);
      overviewsDown.push(await overview(tenant));
    }
    const restartedAt = Date.now();
    const duringOutage = pusher.attempts.filter((item) => item.at >= stoppedAt && item.at < restartedAt);

    await redis.start(); // a new, empty Redis on the same port
    let signedAfter: Awaited<ReturnType<typeof signedPush>> | undefined;
    await waitFor(async () => {
      signedAfter = await signedPush(service, tenant, pusher.run, `signed-after-${Date.now()}`);
      if (signedAfter.status === 202) signedAcked.push(...signedAfter.seqs);
      return signedAfter.status === 202 || service.exit() !== undefined;
    }, 30_000, 500);
    const recovered = await acksOrExit(pusher, service, 5, 30_000);
    const { crashed } = await finishLoad(pusher, service);
    const counts = await tally(pg, pusher.run, [...pusher.acknowledgedSeqs(), ...signedAcked]);
    report('redis: stopped', {
      crashed,
      ...counts,
      outagePushes: statusesOf(duringOutage),
      outagePushSlowestMs: slowest(duringOutage),
      signedBefore: signedBefore.status,
      signedDown: statusesOf(signedDown),
      signedDownSlowestMs: slowest(signedDown),
      overviewBefore: overviewBefore.status,
      overviewDown: statusesOf(overviewsDown),
      overviewDownSlowestMs: slowest(overviewsDown),
      signedAfter: signedAfter?.status,
      statuses: statusesOf(pusher.attempts),
    });

    expect.soft(crashed, `the service exited:\n${errorLines(service)}`).toBeUndefined();
    expect.soft(signedBefore.status, 'signed push with Redis up').toBe(202);
    expect.soft(pushedWhileDown, 'pushes acknowledged while Redis is stopped').toBe(true);
    expect.soft(statusesOf(duringOutage.filter((item) => !(item.status === 202 && item.ms < 5_000))), 'pushes while Redis is stopped that were not 202 within 5 s').toEqual({});
    expect.soft(signedDown.filter((item) => !(item.status === 503 && item.code === 'DEPENDENCY_UNAVAILABLE' && item.ms < 5_000)).map((item) => `${item.status} ${item.code ?? ''} ${item.ms}ms`), 'signed pushes while Redis is stopped: 503 DEPENDENCY_UNAVAILABLE within 5 s').toEqual([]);
    expect.soft(overviewBefore.status).toBe(200);
    expect.soft(overviewsDown.filter((item) => !(item.status === 200 && item.ms < 10_000)).map((item) => `${item.status} ${item.code ?? ''} ${item.ms}ms`), 'dashboard overview while Redis is stopped: 200 within 10 s').toEqual([]);
    expect.soft(signedAfter?.status, 'signed push once Redis is back').toBe(202);
    expect.soft(recovered, 'pushes acknowledged once Redis is back').toBe(true);
    expect(counts).toMatchObject({ lost: 0, duplicates: 0, stored: counts.acknowledged });
  });

  it('Redis restarted empty: the bus consumers recover without a service restart; every message another service publishes is stored once', FAULT_TIMEOUT, async () => {
    const tenant = await newTenant();
    const run = `bus-${tenant.id}`;
    const pusher = new Pusher({ url: service.url, token: tenant.token, workers: 2, batchSize: 50 }).start();
    const producer = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => 200, commandTimeout: 2_000 });
    producer.on('error', () => undefined);
    const published: string[] = [];
    /** XADD as src/platform/bus/redis-streams.ts does, from "ticket-service"; true once Redis took it. */
    const publish = async (seq: string): Promise<boolean> => {
      const value = { tenant_id: tenant.id, metrics: [{ name: 'faults_bus', service: 'ticket', value: 1, labels: { run, seq }, timestamp: new Date().toISOString() }] };
      try {
        await producer.xadd(`monitoring:bus:metrics-stream:${keyHash(tenant.id) % PARTITIONS}`, 'MAXLEN', '~', 100_000, '*', 'value', JSON.stringify(value), 'headers', JSON.stringify({ origin: 'ticket-service' }), 'key', tenant.id);
        published.push(seq);
        return true;
      } catch {
        return false;
      }
    };
    const storedSeqs = async () => new Set((await pg.query<{ seq: string }>("SELECT labels->>'seq' AS seq FROM metrics WHERE labels->>'run' = $1", [run])).map((row) => row.seq));
    const allStored = async (seqs: readonly string[]) => {
      const stored = await storedSeqs();
      return seqs.every((seq) => stored.has(seq));
    };

    try {
      expect(await publish('before')).toBe(true);
      const consumedBefore = await waitFor(() => allStored(['before']), 20_000, 250);

      await redis.restartEmpty();
      const restartedAt = Date.now();
      // Publish every half second until the consumers have picked up again.
      let firstStoredAfterMs: number | undefined;
      for (let index = 0; Date.now() - restartedAt < 25_000 && service.exit() === undefined; index += 1) {
        await publish(`after-${index}`);
        const stored = await storedSeqs();
        if (published.some((seq) => seq.startsWith('after-') && stored.has(seq))) {
          firstStoredAfterMs = Date.now() - restartedAt;
          break;
        }
        await sleep(500);
      }
      const recoveredBatch: string[] = [];
      for (let index = 0; index < 5; index += 1) {
        const seq = `recovered-${index}`;
        if (await publish(seq)) recoveredBatch.push(seq);
      }
      const recoveredConsumed = await waitFor(() => allStored(recoveredBatch), 15_000, 250);
      const allConsumed = await waitFor(() => allStored(published), 10_000, 250);
      const pushesRecovered = await acksOrExit(pusher, service, 5, 20_000);
      const { crashed } = await finishLoad(pusher, service, 20_000);

      const bus = await tally(pg, run, published);
      const pushes = await tally(pg, pusher.run, pusher.acknowledgedSeqs());
      report('redis: restarted empty', { crashed, consumedBefore, firstStoredAfterMs, recoveredConsumed, allConsumed, bus, pushes, statuses: statusesOf(pusher.attempts) });

      expect.soft(crashed, `the service exited:\n${errorLines(service)}`).toBeUndefined();
      expect.soft(consumedBefore, 'a message is consumed before the restart').toBe(true);
      expect.soft(firstStoredAfterMs, 'a message published after the restart is consumed').toBeDefined();
      expect.soft(recoveredConsumed, 'messages published once the consumers are back are all consumed').toBe(true);
      expect.soft(bus, 'bus messages: lost = published but never stored (also those published before the consumers noticed the restart)').toMatchObject({ lost: 0, duplicates: 0 });
      expect.soft(pushesRecovered, 'pushes acknowledged after the restart').toBe(true);
      expect(pushes).toMatchObject({ lost: 0, duplicates: 0, stored: pushes.acknowledged });
    } finally {
      producer.disconnect();
    }
  });
});
