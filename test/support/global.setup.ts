import { writePgliteSeed } from '../../src/platform/db/pglite.js';
import { dropWorkerDatabases } from './worker-database.js';

/**
 * Vitest global setup: every test app on the embedded database starts from a seed written once
 * per run (an empty, migrated database) instead of running initdb and every migration itself,
 * about 2.5 s of CPU per app on this 2-core machine. On PostgreSQL, the workers' databases of an
 * earlier run are dropped before (their schema may be older) and this run's after.
 */
export default async function setup(): Promise<() => Promise<void>> {
  await writePgliteSeed();
  const baseUrl = process.env['TEST_DATABASE_URL'];
  if (baseUrl !== undefined) await dropWorkerDatabases(baseUrl);
  return async () => {
    if (baseUrl !== undefined) await dropWorkerDatabases(baseUrl);
  };
}
