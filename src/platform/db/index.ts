import type { Config } from '../../config.js';
import type { Db, QueryObserver } from './db.js';
import { createPgliteDb } from './pglite.js';
import { createPostgresDb, type RuntimeRole } from './postgres.js';

export * from './db.js';
export type { RuntimeRole } from './postgres.js';
export { registerPoolMetrics } from './pool.metrics.js';


export interface MigratableDb extends Db {
  migrate(): Promise<string[]>;
  /** The login role of the runtime connection (PostgreSQL only; PGlite has a single embedded user). */
  runtimeRole?(): Promise<RuntimeRole>;
}

/** Picks the adapter: PostgreSQL when DATABASE_URL is set, else embedded PGlite under DATA_DIR. */
export async function createDb(
  config: Pick<Config, 'DATABASE_URL' | 'MIGRATION_DATABASE_URL' | 'DATA_DIR' | 'DATABASE_POOL_MAX' | 'DATABASE_POOL_MAX_PER_TENANT' | 'DATABASE_CONNECT_TIMEOUT_MS' | 'DATABASE_STATEMENT_TIMEOUT_MS'>,
  observer?: QueryObserver,
  onConnectionError?: (error: Error) => void,
): Promise<MigratableDb> {
  if (config.DATABASE_URL !== undefined) {
    return createPostgresDb(config.DATABASE_URL, {
      poolMax: config.DATABASE_POOL_MAX,
      poolMaxPerTenant: config.DATABASE_POOL_MAX_PER_TENANT,
      connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
      migrationUrl: config.MIGRATION_DATABASE_URL,
      observer,
      onConnectionError,
    });
  }
  const dir = config.DATA_DIR === 'memory://' ? 'memory://' : `${config.DATA_DIR}/pglite`;
  return createPgliteDb(dir, observer);
}

/** Why the runtime login role is too powerful for forced RLS to protect tenants, if it is. */
export function runtimeRoleProblem(runtime: RuntimeRole | undefined): string | undefined {
  if (runtime === undefined || (!runtime.superuser && !runtime.ownsTables)) return undefined;
  const what = runtime.superuser ? 'a superuser' : 'the owner of the tables';
  return `DATABASE_URL logs in as ${runtime.role}, ${what}: connect as monitoring_runtime (created by the migrations) and migrate with MIGRATION_DATABASE_URL`;
}
