import type { Config } from '../../config.js';
import type { Db, QueryObserver } from './db.js';
import { createPgliteDb } from './pglite.js';
import { createPostgresDb } from './postgres.js';

export * from './db.js';

export interface MigratableDb extends Db {
  migrate(): Promise<string[]>;
}

/** Picks the adapter: PostgreSQL when DATABASE_URL is set, else embedded PGlite under DATA_DIR. */
export async function createDb(
  config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR' | 'DATABASE_POOL_MAX' | 'DATABASE_CONNECT_TIMEOUT_MS' | 'DATABASE_STATEMENT_TIMEOUT_MS'>,
  observer?: QueryObserver,
  onConnectionError?: (error: Error) => void,
): Promise<MigratableDb> {
  if (config.DATABASE_URL !== undefined) {
    return createPostgresDb(config.DATABASE_URL, {
      poolMax: config.DATABASE_POOL_MAX,
      connectTimeoutMs: config.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
      observer,
      onConnectionError,
    });
  }
  const dir = config.DATA_DIR === 'memory://' ? 'memory://' : `${config.DATA_DIR}/pglite`;
  return createPgliteDb(dir, observer);
}
