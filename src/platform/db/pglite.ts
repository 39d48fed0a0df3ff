import { mkdirSync } from 'node:fs';
import { PGlite, types } from '@electric-sql/pglite';
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

export async function createPgliteDb(dataDir: string, observer?: QueryObserver): Promise<PgliteDb> {
  const inMemory = dataDir === 'memory://' || dataDir === ':memory:';
  if (!inMemory) mkdirSync(dataDir, { recursive: true });
  const pg = await PGlite.create(inMemory ? 'memory://' : dataDir, {
    parsers: { [types.INT8]: (value: string) => Number(value), [types.NUMERIC]: (value: string) => Number(value) },
  });
  let closed = false;

  const run = async <T>(tenantId: string | null, work: (tx: Tx) => Promise<T>): Promise<T> =>
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
    poolStats: () => ({ total: 1, idle: 1, waiting: 0 }),
    async migrate() {
      const owner: OwnerSession = {
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
      return migrate(owner);
    },
    async close() {
      if (closed) return;
      closed = true;
      await pg.close();
    },
  };
}

