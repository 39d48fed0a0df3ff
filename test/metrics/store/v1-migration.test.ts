import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { runCompaction } from '../../../src/metrics/compaction.job.js';
import { loadMigrations, migrate } from '../../../src/platform/db/migrate.js';
import { createPgliteDb } from '../../../src/platform/db/pglite.js';
import { newTenant } from '../../support/app.js';

const directory = mkdtempSync(join(tmpdir(), 'store-v1-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const DAY = 86_400_000;
const MINUTE = 60_000;

/** The owner's session of a PGlite database, for the migrations. */
const ownerOf = (pg: PGlite) => ({
  exec: async (sql: string) => {
    await pg.exec(sql);
  },
  appliedVersions: async () => new Set((await pg.query<{ version: string }>('SELECT version FROM schema_migrations')).rows.map((row) => row.version)),
  apply: async (version: string, sql: string) => {
    await pg.transaction(async (tx) => {
      await tx.exec(sql);
      await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
    });
  },
});

describe('a database written by the store before series and chunks', () => {
  it('keeps its samples readable through the migration, then compaction moves them into chunks and drops the old partitions', async () => {
    const tenant = newTenant();
    const day = Math.floor(Date.now() / DAY) * DAY - 2 * DAY;
    const dataDir = join(directory, 'db');

    // The schema as it was, with rows written the old way (one wide row per sample).
    const old = await PGlite.create(dataDir);
    await migrate(ownerOf(old), loadMigrations().filter((migration) => migration.version < '0900'));
    await old.query('SELECT ensure_metrics_partitions($1::date, $1::date)', [new Date(day).toISOString().slice(0, 10)]);
    await old.query(
      `INSERT INTO metrics (tenant_id, metric_name, service_name, series_key, value, labels, "timestamp")
       SELECT $1, 'orders_total', 'checkout', 'orders_total|checkout|{zone="eu"}', i, '{"zone":"eu"}', to_timestamp(($2::float8 + i * 60000) / 1000)
       FROM generate_series(0, 59) AS i`,
      [tenant, day],
    );
    await old.close();

    const db = await createPgliteDb(dataDir);
    try {
      expect(await db.migrate()).toContain('0900_series_head_chunks');
      const read = () =>
        db.withTenant(tenant, async (tx) =>
          (await tx.query<{ value: number; labels: Record<string, string>; at: Date }>(`SELECT value, labels, "timestamp" AS at FROM metric_samples_in($2, $3) WHERE tenant_id = $1 AND metric_name = 'orders_total' ORDER BY "timestamp"`, [tenant, new Date(day), new Date(day + DAY - 1)])).rows.map(
            (row) => ({ value: row.value, labels: row.labels, at: row.at.getTime() }),
          ),
        );
      const expected = Array.from({ length: 60 }, (_, i) => ({ value: i, labels: { zone: 'eu' }, at: day + i * MINUTE }));
      expect(await read()).toEqual(expected);
      // The migration registered the series, so names are listed from the series table at once.
      const names = await db.withTenant(tenant, async (tx) => (await tx.query<{ metric_name: string }>('SELECT metric_name FROM metric_series WHERE tenant_id = $1', [tenant])).rows);
      expect(names).toEqual([{ metric_name: 'orders_total' }]);

      const outcome = await runCompaction({ db, logger: pino({ level: 'silent' }), delayMs: 0 }, new Date());
      expect(outcome).toMatchObject({ failed: 0, chunks: 1, samples: 60, droppedPartitions: 1 });
      expect(await read()).toEqual(expected);
      const left = await db.asSystem(async (tx) => (await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM metrics_v1')).rows[0]?.n);
      expect(left).toBe(0);
      const chunk = await db.withTenant(tenant, async (tx) => (await tx.query<{ samples: number; step_ms: number }>('SELECT samples, step_ms FROM metric_chunks WHERE tenant_id = $1', [tenant])).rows);
      expect(chunk).toEqual([{ samples: 60, step_ms: MINUTE }]);
    } finally {
      await db.close();
    }
  });
});
