import { loadConfig, withEnvFile } from '../../config.js';
import { createDb } from './index.js';

/** `npm run db:migrate`: applies pending migrations to DATABASE_URL (or the embedded database). */
const config = loadConfig(withEnvFile(process.env, process.cwd()));
const db = await createDb(config);
try {
  const applied = await db.migrate();
  process.stdout.write(applied.length === 0 ? 'Database is up to date.\n' : `Applied: ${applied.join(', ')}\n`);
} finally {
  await db.close();
}
