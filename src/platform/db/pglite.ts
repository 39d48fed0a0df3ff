import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite, types } from '@electric-sql/pglite';
import { createFairQueue, SYSTEM_TURN } from './fair-queue.js';
import { migrate, type OwnerSession } from './migrate.js';
import { observe, scopeStatements, type Db, type QueryObserver, type QueryResult, type Row, type Tx } from './db.js';

/**
 * Embedded PostgreSQL (WASM). It has one session, so every unit of work goes through
 * PGlite's transaction(), which serializes them: interleaved BEGIN/COMMIT from two
 * requests would share tenant settings.
 */
export interface PgliteDb extends Db {
  migrate(): Promise<string[]>;
}

/**
 * A database with every migration applied and no rows of any tenant, written by the build
 * (scripts/build.mjs) beside the compiled code. A new database starts from it instead of
 * running initdb and the migrations, about 3 s of CPU of a first start. From src/ (tsx, the
 * tests) it exists once the test suite's global setup has written it; without it a new
 * database runs initdb.
 */
export const PGLITE_SEED_FILE = fileURLToPath(new URL('./pglite-seed.tar.gz', import.meta.url));

const PARSERS = { [types.INT8]: (value: string) => Number(value), [types.NUMERIC]: (value: string) => Number(value) };

/**
 * PostgreSQL's defaults size a server: shared_buffers of 128 MB alone grow the WebAssembly heap
 * to 189 MB and add ~120 MB of RSS to this process at idle (measured: bench/memory.bench.ts).
 * 16 MB of buffers keeps the heap at PGlite's 128 MB minimum; the tables' pages are still
 * cached by the operating system (a data directory) or live in memory (memory://).
 * maintenance_work_mem bounds what a VACUUM or CREATE INDEX may take at once (default 64 MB).
 */
const START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB', '-c', 'maintenance_work_mem=16MB'];

/** The seed, when there is one and `dataDir` holds no database yet (PGlite refuses to load over one). */
function seedFor(dataDir: string, inMemory: boolean): Blob | undefined {
  if (!inMemory && existsSync(join(dataDir, 'PG_VERSION'))) return undefined;
  if (!existsSync(PGLITE_SEED_FILE)) return undefined;
  return new Blob([readFileSync(PGLITE_SEED_FILE)]);
}

/**
 * Writes PGLITE_SEED_FILE from the migrations of this build (the build, and the test suite's
 * global setup for runs from src/). The database is made from scratch, never from an older seed,
 * and the file is replaced by a rename: a process starting meanwhile reads the old seed or the
 * new one, never half of one.
 */
export async function writePgliteSeed(): Promise<void> {
  const pg = await PGlite.create('memory://');
  try {
    await migrate(ownerSession(pg));
    await pg.exec('CHECKPOINT');
    const tarball = await pg.dumpDataDir('gzip');
    const partial = `${PGLITE_SEED_FILE}.${process.pid}.partial`;
    writeFileSync(partial, Buffer.from(await tarball.arrayBuffer()));
    renameSync(partial, PGLITE_SEED_FILE);
  } finally {
    await pg.close();
  }
}

function ownerSession(pg: PGlite): OwnerSession {
  return {
    async exec(sql) {
      await pg.exec(sql);
    },
    async appliedVersions() {
      const result = await pg.query<{ version: string }>('SELECT version FROM schema_migrations');
      return new Set(result.rows.map((row) => row.version));
    },
    async apply(version, sql) {
      try {
        await pg.transaction(async (transaction) => {
          await transaction.exec(sql);
          await transaction.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
        });
      } catch (error) {
        throw new Error(`migration ${version} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    },
  };
}

export async function createPgliteDb(dataDir: string, observer?: QueryObserver): Promise<PgliteDb> {
  const inMemory = dataDir === 'memory://' || dataDir === ':memory:';
  if (!inMemory) mkdirSync(dataDir, { recursive: true });
  const seed = seedFor(dataDir, inMemory);
  const pg = await PGlite.create(inMemory ? 'memory://' : dataDir, { parsers: PARSERS, startParams: START_PARAMS, ...(seed === undefined ? {} : { loadDataDir: seed }) });
  let closed = false;

  const turns = createFairQueue();
  // Transactions take turns by tenant (cross-tenant jobs count as one more): one tenant's burst
  // no longer makes every other tenant wait behind all of it.
  const run = async <T>(tenantId: string | null, work: (tx: Tx) => Promise<T>): Promise<T> =>
    turns.run(tenantId ?? SYSTEM_TURN, () => transaction(tenantId, work));

  const transaction = async <T>(tenantId: string | null, work: (tx: Tx) => Promise<T>): Promise<T> =>
    pg.transaction(async (transaction) => {
      const scope = scopeStatements(tenantId);
      await transaction.query(`SET LOCAL ROLE ${scope.role}`);
      await transaction.query(scope.sql, scope.params);
      const tx: Tx = {
        async query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
          const result = await transaction.query<R>(sql, params === undefined ? [] : [...params]);
          return { rows: result.rows, rowCount: Math.max(result.rows.length, result.affectedRows ?? 0) };
        },
      };
      return work(observe(tx, observer));
    });

  return {
    kind: 'pglite',
    withTenant: (tenantId, work) => run(tenantId, work),
    asSystem: (work) => run(null, work),
    async ping() {
      await pg.query('SELECT 1');
    },
    poolStats: () => ({ total: 1, idle: 1, waiting: turns.waiting() }),
    async migrate() {
      return migrate(ownerSession(pg));
    },
    async close() {
      if (closed) return;
      closed = true;
      await pg.close();
    },
  };
}

