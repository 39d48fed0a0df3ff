import pg from 'pg';
import { observe, scopeStatements, type Db, type QueryObserver, type QueryResult, type Row, type Tx } from './db.js';
import { asDatabaseError, isConnectionError } from './connection-errors.js';
import { migrate, type OwnerSession } from './migrate.js';
import { createFairQueue, SYSTEM_TURN } from './fair-queue.js';
import { DependencyUnavailableError } from '../../errors.js';

const INT8 = 20;
const NUMERIC = 1700;

function typeParser(oid: number, format?: string): (value: string) => unknown {
  if (oid === INT8 || oid === NUMERIC) return (value: string) => Number(value);
  // pg types its parsers loosely; every parser takes the wire text and returns a value.
  return (format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text')) as (value: string) => unknown;
}

export interface RuntimeRole {
  role: string;
  superuser: boolean;
  /** The login role owns (or inherits the owner of) tables: forced RLS would not stop DDL or a policy change. */
  ownsTables: boolean;
}

export interface PostgresDb extends Db {
  migrate(): Promise<string[]>;
  runtimeRole(): Promise<RuntimeRole>;
}

export interface PostgresOptions {
  poolMax: number;
  /** Most connections one tenant (or the cross-tenant jobs together) holds at once. */
  poolMaxPerTenant: number;
  /** Longest wait for a connection from the pool or the server. */
  connectTimeoutMs: number;
  /** Server-side limit of one statement; the client gives up a little later (a frozen server never answers). */
  statementTimeoutMs: number;
  /** The owner's URL for migrations (MIGRATION_DATABASE_URL); the runtime URL when unset. */
  migrationUrl?: string;
  observer?: QueryObserver;
  onConnectionError?: (error: Error) => void;
}

export function createPostgresDb(connectionString: string, options: PostgresOptions): PostgresDb {
  const pool = new pg.Pool({
    connectionString,
    max: options.poolMax,
    types: { getTypeParser: typeParser as typeof pg.types.getTypeParser },
    connectionTimeoutMillis: options.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    query_timeout: options.statementTimeoutMs + 5_000,
    keepAlive: true,
  });
  const reportConnectionError = (error: Error) => options.onConnectionError?.(error);
  // An idle client that errors (server restart) must not crash the process.
  pool.on('error', reportConnectionError);
  // pg-pool listens for errors only while a client is idle, and hands a new client out before the
  // caller can attach a listener: a backend terminated in that gap (its message read together with
  // the ready message) emitted an unhandled 'error' and ended the process. Every client gets a
  // listener for its whole life the moment it connects; a client that errored is never reused.
  const brokenClients = new WeakSet<pg.PoolClient>();
  pool.on('connect', (client) => {
    client.on('error', (error: Error) => {
      brokenClients.add(client);
      reportConnectionError(error);
    });
  });
  let closed = false;

  const connect = async (): Promise<pg.PoolClient> => {
    try {
      return await pool.connect();
    } catch (error) {
      if (error instanceof Error && isConnectionError(error)) reportConnectionError(error);
      throw asDatabaseError(error);
    }
  };

  // Transactions take turns by tenant and one tenant holds at most poolMaxPerTenant connections:
  // a tenant's burst held every pooled connection (and the server's cores) while the others waited.
  const turns = createFairQueue({
    capacity: options.poolMax,
    perKey: options.poolMaxPerTenant,
    maxWaitMs: options.connectTimeoutMs,
    onTimeout: () => new DependencyUnavailableError('database', new Error(`no database connection within ${options.connectTimeoutMs} ms`)),
  });
  const run = <T>(tenantId: string | null, work: (tx: Tx) => Promise<T>): Promise<T> => turns.run(tenantId ?? SYSTEM_TURN, () => transaction(tenantId, work));

  const transaction = async <T>(tenantId: string | null, work: (tx: Tx) => Promise<T>): Promise<T> => {
    const scope = scopeStatements(tenantId);
    const client = await connect();
    let broken = false;
    try {
      await client.query(scope.begin);
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
      if (isConnectionError(error)) broken = true;
      else
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
      throw asDatabaseError(error);
    } finally {
      client.release(broken || brokenClients.has(client));
    }
  };

  return {
    kind: 'postgres',
    withTenant: (tenantId, work) => run(tenantId, work),
    asSystem: (work) => run(null, work),
    async ping() {
      await pool.query('SELECT 1').catch((error: unknown) => {
        throw asDatabaseError(error);
      });
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount + turns.waiting() }),
    async migrate() {
      // The owner's own connection (MIGRATION_DATABASE_URL), never the runtime pool's role.
      // One migrator at a time across instances: a session-level advisory lock.
      const client = new pg.Client({ connectionString: options.migrationUrl ?? connectionString, connectionTimeoutMillis: options.connectTimeoutMs });
      client.on('error', reportConnectionError);
      try {
        await client.connect();
      } catch (error) {
        throw asDatabaseError(error);
      }
      try {
        await client.query('SELECT pg_advisory_lock(7320174001)');
        await client.query("SET app.is_system_user = 'true'");
        return await migrate(ownerSession(client));
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    async runtimeRole() {
      const result = await pool.query<{ role: string; superuser: boolean; owned: number }>(
        `SELECT current_user AS role, r.rolsuper AS superuser,
           (SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND pg_has_role(current_user, c.relowner, 'USAGE')) AS owned
         FROM pg_roles r WHERE r.rolname = current_user`,
      );
      const row = result.rows[0];
      return { role: row?.role ?? 'unknown', superuser: row?.superuser ?? false, ownsTables: (row?.owned ?? 0) > 0 };
    },
    async close() {
      if (closed) return;
      closed = true;
      await pool.end();
    },
  };
}

function ownerSession(client: pg.ClientBase): OwnerSession {
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
