import { ensureWorkerDatabase } from './worker-database.js';

// Runs in each worker before each test file: TEST_DATABASE_URL is pointed at this worker's own
// database before any test module reads it (see worker-database.ts for why).
const baseUrl = process.env['TEST_DATABASE_BASE_URL'] ?? process.env['TEST_DATABASE_URL'];
const poolId = process.env['VITEST_POOL_ID'];
if (baseUrl !== undefined && poolId !== undefined) {
  process.env['TEST_DATABASE_BASE_URL'] = baseUrl;
  process.env['TEST_DATABASE_URL'] = await ensureWorkerDatabase(baseUrl, poolId);
}
