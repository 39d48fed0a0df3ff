import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Owner-level session used only to apply migrations. */
export interface OwnerSession {
  exec(sql: string): Promise<void>;
  appliedVersions(): Promise<Set<string>>;
  /** Applies one migration and records it atomically. */
  apply(version: string, sql: string): Promise<void>;
}

export interface Migration {
  version: string;
  sql: string;
}

const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

export function loadMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .filter((file) => /^\d{4}_[a-z0-9_]+\.sql$/.test(file))
    .sort()
    .map((file) => ({ version: file.replace(/\.sql$/, ''), sql: readFileSync(`${dir}/${file}`, 'utf8') }));
}

export const MIGRATIONS_TABLE_SQL = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version text PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE schema_migrations ENABLE ROW LEVEL SECURITY;
ALTER TABLE schema_migrations FORCE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS system_only ON schema_migrations;
CREATE POLICY system_only ON schema_migrations USING (current_setting('app.is_system_user', true) = 'true');
`;

/** Applies, in file order, every migration not yet recorded. Returns the versions applied. */
export async function migrate(session: OwnerSession, migrations = loadMigrations()): Promise<string[]> {
  await session.exec(MIGRATIONS_TABLE_SQL);
  const applied = await session.appliedVersions();
  const done: string[] = [];
  for (const migration of migrations) {
    if (applied.has(migration.version)) continue;
    await session.apply(migration.version, migration.sql);
    done.push(migration.version);
  }
  return done;
}
