import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyHash } from '../../src/platform/bus/partition.js';
import { startPrivatePostgres, type PrivatePostgres } from '../support/private-postgres.js';
import { startPrivateRedis, type PrivateRedis } from '../support/private-redis.js';
import { createServiceProcess, type ServiceProcess } from '../support/service-process.js';
import { attempt, report, waitFor, type Attempt } from './load.js';
import { FAULT_TIMEOUT, newTenant, signedPush, unavailable } from './stack.js';

/**
 * Issue 12, start-up with Redis down (BUS=redis): the process says what it waits for and either
 * starts degraded (storing works, what needs Redis answers 503) and recovers when Redis comes,
 * or exits with a clear message, within a bounded time. Never a silent hang.
 */
const skip = unavailable({ redis: true });
const PARTITIONS = 8;

describe.skipIf(skip !== undefined)('start-up with Redis down', () => {
  let pg: PrivatePostgres;
  let redis: PrivateRedis;
  let service: ServiceProcess;

  beforeAll(async () => {
    pg = await startPrivatePostgres();
    redis = await startPrivateRedis({ start: false }); // its port is chosen; nothing listens yet
    service = await createServiceProcess({ databaseUrl: pg.url(), redisUrl: redis.url, bus: 'redis', env: { BUS_REDIS_PARTITIONS: String(PARTITIONS) } });
  }, 120_000);

  afterAll(async () => {
    await service?.remove();
    await redis?.remove();
    await pg?.remove();
  });

  it('starts degraded or exits with a message naming Redis within 30 s; once Redis is up, signed pushes and the bus work without a restart', FAULT_TIMEOUT, async () => {
    const startedAt = Date.now();
    await service.start({ waitForLive: false });
    let live = false;
    await waitFor(async () => {
      live = (await attempt(service.url, { method: 'GET', path: '/health/live', timeoutMs: 2_000 })).status === 200;
      return live || service.exit() !== undefined;
    }, 30_000, 250);
    const outcomeMs = Date.now() - startedAt;
    const exited = service.exit();
    const outcome = live ? 'started degraded' : exited !== undefined ? 'exited' : 'neither';
    // Warnings and errors (pino levels 40+) or plain stderr text that name Redis.
    const redisLines = service
      .output()
      .split('\n')
      .filter((line) => /redis/i.test(line) && (/"level":(40|50|60)/.test(line) || !line.startsWith('{')))
      .map((line) => line.slice(0, 300));

    const tenant = await newTenant();
    const facts: Record<string, unknown> = { outcome, outcomeMs, exit: exited, redisLines: redisLines.slice(0, 5) };
    let pushWhileDown: Attempt | undefined;
    let signedWhileDown: Attempt | undefined;
    let signedAfter: Attempt | undefined;
    let consumed = false;
    if (live) {
      const body = JSON.stringify({ name: 'faults_probe', service: 'faults', value: 1, labels: { run: 'startup', seq: 'down' } });
      pushWhileDown = await attempt(service.url, { method: 'POST', path: '/api/v1/monitoring/metrics', headers: { ...tenant.headers, 'content-type': 'application/json' }, body });
      signedWhileDown = await signedPush(service, tenant, 'startup', 'signed-down');
      await redis.start();
      await waitFor(async () => {
        signedAfter = await signedPush(service, tenant, 'startup', `signed-after-${Date.now()}`);
        return signedAfter.status === 202 || service.exit() !== undefined;
      }, 30_000, 500);
      // Messages of another service on metrics-stream, one every half second once Redis is there,
      // until one is consumed: the consumers pick up without a restart. (A first-time group starts
      // at the newest entry, so what was published before the consumer created it is not read:
      // reported, not asserted.)
      const producer = new Redis(redis.url, { maxRetriesPerRequest: 1, commandTimeout: 2_000 });
      producer.on('error', () => undefined);
      const published: string[] = [];
      const storedSeqs = async () => new Set((await pg.query<{ seq: string }>("SELECT labels->>'seq' AS seq FROM metrics WHERE labels->>'run' = 'startup'")).map((row) => row.seq));
      try {
        consumed = await waitFor(async () => {
          const seq = `bus-${published.length}`;
          const value = { tenant_id: tenant.id, metrics: [{ name: 'faults_bus', service: 'ticket', value: 1, labels: { run: 'startup', seq }, timestamp: new Date().toISOString() }] };
          const added = await producer
            .xadd(`monitoring:bus:metrics-stream:${keyHash(tenant.id) % PARTITIONS}`, 'MAXLEN', '~', 100_000, '*', 'value', JSON.stringify(value), 'headers', JSON.stringify({ origin: 'ticket-service' }), 'key', tenant.id)
            .then(() => true, () => false);
          if (added) published.push(seq);
          const stored = await storedSeqs();
          return published.some((item) => stored.has(item));
        }, 30_000, 500);
      } finally {
        producer.disconnect();
      }
      const stored = await storedSeqs();
      facts['busPublished'] = published.length;
      facts['busFirstConsumed'] = published[0] !== undefined && stored.has(published[0]);
      facts['busPublishedBeforeFirstConsumed'] = published.findIndex((seq) => stored.has(seq));
      Object.assign(facts, { pushWhileDown: pushWhileDown.status, signedWhileDown: `${signedWhileDown.status} ${JSON.stringify(signedWhileDown.body)}`, signedAfter: signedAfter?.status, busConsumedAfterRedisUp: consumed, stillRunning: service.exit() === undefined });
    }
    report('startup: Redis down', facts);

    expect(outcome, `neither live nor exited within 30 s:\n${service.output().slice(-2_000)}`).not.toBe('neither');
    expect.soft(redisLines.length, 'a warning or error naming Redis').toBeGreaterThan(0);
    if (exited !== undefined) {
      expect.soft(exited.code, 'an exit for a missing dependency is a failure exit').not.toBe(0);
      return;
    }
    expect.soft(pushWhileDown?.status, 'a push with Redis down (storing does not need it)').toBe(202);
    expect.soft(signedWhileDown?.status === 503 && signedWhileDown.code === 'DEPENDENCY_UNAVAILABLE', `a signed push with Redis down: ${signedWhileDown?.status ?? ''} ${signedWhileDown?.code ?? ''}`).toBe(true);
    expect.soft(signedAfter?.status, 'a signed push once Redis is up').toBe(202);
    expect.soft(consumed, 'metrics-stream messages are consumed once Redis is up').toBe(true);
    expect(service.exit(), 'the process still runs').toBeUndefined();
  });
});
