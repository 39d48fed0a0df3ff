import pg from 'pg';
import { APP_ROLE, observe, scopeStatements, type Db, type QueryObserver, type QueryResult, type Row, type Tx } from './db.js';
import { migrate, type OwnerSession } from './migrate.js';

const INT8 = 20;
const NUMERIC = 1700;

function typeParser(oid: number, format?: string): (value: string) => unknown {
  if (oid === INT8 || oid === NUMERIC) return (value: string) => Number(value);
  // pg types its parsers loosely; every parser takes the wire text and returns a value.
  return (format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text')) as (value: string) => unknown;
}

export interface PostgresDb extends Db {
  migrate(): Promise<string[]>;
}

export function createPostgresDb(connectionString: string, options: { poolMax: number; observer?: QueryObserver }): PostgresDb {
  const pool = new pg.Pool({
    connectionString,
    max: options.poolMax,
    types: { getTypeParser: typeParser as typeof pg.types.getTypeParser },
    connectionTimeoutMillis: 5_000,
  });
  // An idle client that errors (server restart) must not crash the process.
  pool.on('error', () => undefined);
  let closed = false;

  const run = async <T>(tenantId: string | null, work: (tx: Tx) => Promise<T>): Promise<T> => {
    const scope = scopeStatements(tenantId);
    const client = await pool.connect();
    let broken = false;
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL ROLE ${APP_ROLE}`);
      await client.query(scope.sql, scope.params);
      const tx: Tx = {
        async query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
          const result = await client.query(sql, params === undefined ? [] : [...params]);
          // Rows are shaped by the SQL the repository wrote; the repository names their type.
          return { rows: result.rows as R[], rowCount: result.rowCount ?? result.rows.length };
        },
      };
      const value = await work(observe(tx, options.observer));
      await client.query('COMMIT');
      return value;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  };

  return {
    kind: 'postgres',
    withTenant: (tenantId, work) => run(tenantId, work),
    asSystem: (work) => run(null, work),
    async ping() {
      await pool.query('SELECT 1');
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    async migrate() {
      // One migrator at a time across instances: a session-level advisory lock on a dedicated client.
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock(7320174001)');
        await client.query("SET app.is_system_user = 'true'");
        return await migrate(ownerSession(client));
      } finally {
        await client.query('SELECT pg_advisory_unlock(7320174001)').catch(() => undefined);
        await client.query('RESET app.is_system_user').catch(() => undefined);
        client.release();
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

function ownerSession(client: pg.PoolClient): OwnerSession {
  return {
    async exec(sql) {
      await client.query(sql);
    },
    async appliedVersions() {
      const result = await client.query<{ version: string }>('SELECT version FROM schema_migrations');
      return new Set(result.rows.map((row) => row.version));
    },
    async apply(version, sql) {
      try {
        await client.query('BEGIN');
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw new Error(`migration ${version} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
      }
    },
  };
}
