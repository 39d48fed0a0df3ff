import type { Config } from '../../config.js';
import type { Db, QueryObserver } from './db.js';
import { createPgliteDb } from './pglite.js';
import { createPostgresDb } from './postgres.js';

export * from './db.js';

export interface MigratableDb extends Db {
  migrate(): Promise<string[]>;
}

/** Picks the adapter: PostgreSQL when DATABASE_URL is set, else embedded PGlite under DATA_DIR. */
export async function createDb(config: Pick<Config, 'DATABASE_URL' | 'DATA_DIR' | 'DATABASE_POOL_MAX'>, observer?: QueryObserver): Promise<MigratableDb> {
  if (config.DATABASE_URL !== undefined) {
    return createPostgresDb(config.DATABASE_URL, { poolMax: config.DATABASE_POOL_MAX, observer });
  }
  const dir = config.DATA_DIR === 'memory://' ? 'memory://' : `${config.DATA_DIR}/pglite`;
  return createPgliteDb(dir, observer);
}
