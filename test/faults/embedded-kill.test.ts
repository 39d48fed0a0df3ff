import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attempt, PUSH_PATH, report, statusesOf, waitFor } from './load.js';
import { acksOrExit, createEmbeddedService, diskUsage, embeddedUnavailable, storedStamps, tallyStamps, warnIfStaleBuild, Writers, type EmbeddedService } from './embedded-stack.js';
import { newTenant } from './stack.js';

/**
 * The built service on its embedded default database (PGlite on disk under DATA_DIR), killed
 * with SIGKILL while two writers push: after a restart on the same DATA_DIR every sample answered
 * 202 is there exactly once, read back through the HTTP API, and a batch retried under its
 * Idempotency-Key (its first answer lost with the process) is stored once. The PostgreSQL
 * counterpart is service-kill.test.ts; this one runs in the embedded pass (TEST_DATABASE_URL unset).
 */
const skip = embeddedUnavailable();

describe.skipIf(skip !== undefined)('the embedded service (PGlite under DATA_DIR) killed under push load', () => {
  let service: EmbeddedService;

  beforeAll(async () => {
    warnIfStaleBuild();
    service = await createEmbeddedService();
    await service.start();
  }, 60_000);

  afterAll(async () => {
    await service?.remove();
  });

  it('SIGKILL mid-ingest, restart on the same DATA_DIR: every acknowledged sample stored exactly once, retried batches stored once', { timeout: 60_000 }, async () => {
    const tenant = await newTenant();
    const name = `faults_embedded_kill_${randomBytes(4).toString('hex')}`;
    const writers = new Writers({ url: service.url, tenant, name, writers: 2, batchSize: 200, shards: 3 }).start();

    // A few seconds of load, then the kill at a moment a batch is on its way.
    const loadStart = Date.now();
    expect(await acksOrExit(writers, service, 10, 20_000), 'batches acknowledged before the kill').toBe(true);
    await waitFor(() => Date.now() - loadStart >= 3_000 || service.exit() !== undefined, 10_000, 20);
    await waitFor(() => writers.inFlightBatches() > 0, 5_000, 1);
    const ackedBeforeKill = writers.ackedBatches();
    const inFlightAtKill = writers.inFlightBatches();
    const killedAt = Date.now();
    const ended = await service.kill('SIGKILL');
    // PGlite's data directory is DATA_DIR/pglite (src/platform/db/index.ts): what the kill left on disk.
    const pgdata = join(service.dataDir, 'pglite');
    const onDisk = { ...diskUsage(pgdata), walBytes: diskUsage(join(pgdata, 'pg_wal')).bytes };

    // The writers keep retrying (connection refused) while the same DATA_DIR is opened again.
    await service.start();
    const readyMs = Date.now() - killedAt;
    const ackedAfter = await acksOrExit(writers, service, 4, 20_000);
    const firstAckAfterMs = Date.now() - killedAt;
    await writers.stop(20_000);

    // An acknowledged batch sent again under its key: the first answer, nothing stored.
    const first = writers.firstAcked();
    const replay = first === undefined ? undefined : await attempt(service.url, { method: 'POST', path: PUSH_PATH, headers: writers.headers(first.key), body: first.body, timeoutMs: 20_000 });

    const { stamps, pages } = await storedStamps(service.url, tenant, name);
    const counts = tallyStamps(writers.acknowledgedStamps(), stamps);
    const batches = writers.summary();
    report('embedded service: SIGKILL', {
      kill: { signal: ended.signal, afterLoadMs: killedAt - loadStart, ackedBatchesBefore: ackedBeforeKill, inFlightAtKill },
      dataDirAfterKill: onDisk,
      restart: { readyMs, firstAckAfterMs, ackedAfter },
      ...counts,
      rows: stamps.length,
      pages,
      ...batches,
      replay: replay === undefined ? undefined : { status: replay.status, replayedHeader: replay.answer?.headers['idempotent-replayed'] },
      statuses: statusesOf(writers.attempts),
    });

    expect.soft(ended.signal, 'the process ended by SIGKILL').toBe('SIGKILL');
    expect.soft(ackedAfter, 'pushes acknowledged after the restart').toBe(true);
    expect.soft(batches.unacknowledged, 'batches never acknowledged').toBe(0);
    expect.soft(replay?.status, 'a replay of an acknowledged batch under its key').toBe(202);
    expect.soft(replay?.answer?.headers['idempotent-replayed'], 'the replay is answered as one').toBe('true');
    expect(counts).toMatchObject({ lost: 0, duplicates: 0, storedUnacknowledged: 0, stored: counts.acknowledged });
  });
});
