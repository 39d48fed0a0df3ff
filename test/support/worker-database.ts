import pg from 'pg';

/**
 * Test files that run at the same time must not share a PostgreSQL database: the store's jobs work
 * across tenants (retention drops whole day partitions, aggregation drains every tenant's marks),
 * so one file's cleanup at today's date dropped the partition another file's clock had written to a
 * year earlier. Each Vitest worker therefore gets its own database, named after the one in
 * TEST_DATABASE_URL; files of one worker run one after another and may share it.
 */
const WORKER_SUFFIX = '_w';

export function workerDatabaseUrl(baseUrl: string, poolId: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/${databaseName(baseUrl)}${WORKER_SUFFIX}${poolId}`;
  return url.toString();
}

function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`TEST_DATABASE_URL names a database the tests cannot derive worker databases from: ${name}`);
  return name;
}

async function onServer<T>(baseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates the worker's database when it does not exist yet; the first test app migrates it. */
export async function ensureWorkerDatabase(baseUrl: string, poolId: string): Promise<string> {
  const url = workerDatabaseUrl(baseUrl, poolId);
  const name = databaseName(url);
  await onServer(baseUrl, async (client) => {
    const present = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (present.rowCount !== 0) return;
    await client.query(`CREATE DATABASE ${name}`).catch((error: unknown) => {
      // Another process created it between the check and here.
      if ((error as { code?: string }).code !== '42P04') throw error;
    });
  });
  return url;
}

/** Drops every worker database derived from the base URL (before a run, for a clean schema, and after it). */
export async function dropWorkerDatabases(baseUrl: string): Promise<void> {
  const prefix = `${databaseName(baseUrl)}${WORKER_SUFFIX}`;
  await onServer(baseUrl, async (client) => {
    const found = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE starts_with(datname, $1) AND substr(datname, length($1) + 1) ~ '^[0-9]+$'", [prefix]);
    for (const row of found.rows) await client.query(`DROP DATABASE IF EXISTS ${row.datname} WITH (FORCE)`);
  });
}
