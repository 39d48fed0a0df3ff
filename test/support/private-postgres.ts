import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A PostgreSQL 15 cluster of one test file: its own data directory, port and socket directory,
 * started and stopped with the cluster's own binaries. Never the machine's shared server.
 */
export const PG_BIN = '/usr/lib/postgresql/15/bin';
const RUNUSER = ['/usr/sbin/runuser', '/usr/bin/runuser', '/sbin/runuser', '/bin/runuser'].find((path) => existsSync(path));
const isRoot = process.getuid?.() === 0;

/** Why a private cluster cannot be started here, or undefined when it can. */
export function privatePostgresUnavailable(): string | undefined {
  for (const binary of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(PG_BIN, binary))) return `PostgreSQL 15 binary ${join(PG_BIN, binary)} is missing (apt-get install postgresql-15)`;
  }
  if (isRoot) {
    if (RUNUSER === undefined) return 'runuser is missing: PostgreSQL refuses to run as root and there is no way to run it as the postgres user';
    if (postgresIds() === undefined) return 'there is no postgres OS user to run the private cluster as';
  }
  return undefined;
}

function postgresIds(): { uid: number; gid: number } | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/** A port nobody listens on right now: bind port 0, read it, release it. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

/** Runs a PostgreSQL binary as the postgres OS user (we may be root; PostgreSQL refuses root). */
function runAsPostgres(binary: string, args: readonly string[], timeoutMs = 90_000): Promise<string> {
  const [command, commandArgs] = isRoot && RUNUSER !== undefined ? [RUNUSER, ['-u', 'postgres', '--', join(PG_BIN, binary), ...args]] : [join(PG_BIN, binary), [...args]];
  return new Promise((resolve, reject) => {
    execFile(command, commandArgs, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${binary} ${args.join(' ')} failed: ${error.message}\n${stderr}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

export type StopMode = 'smart' | 'fast' | 'immediate';

export interface PrivatePostgres {
  readonly port: number;
  /** Directory holding the data directory, the socket and the server log. */
  readonly dir: string;
  /** Connection string of `database` (default `monitoring`) as the superuser. */
  url(database?: string): string;
  /** Whether the server was started and not stopped since (by this handle). */
  running(): boolean;
  start(): Promise<void>;
  stop(mode?: StopMode): Promise<void>;
  restart(mode?: StopMode): Promise<void>;
  /** Ends every session of `database` but the caller's; returns how many were ended. */
  terminateBackends(database?: string): Promise<number>;
  /** One query as the superuser (RLS does not apply), on a fresh connection. */
  query<R extends object>(sql: string, params?: readonly unknown[], database?: string): Promise<R[]>;
  /** The server log (startup and shutdown messages, FATALs). */
  log(): string;
  /** Stops the cluster (immediately) and deletes its directory. Idempotent. */
  remove(): Promise<void>;
}

const DATABASE = 'monitoring';

/** initdb + start on a free port + `CREATE DATABASE monitoring`. Call remove() in afterAll. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const reason = privatePostgresUnavailable();
  if (reason !== undefined) throw new Error(reason);
  const dir = mkdtempSync(join(tmpdir(), 'faults-pg-'));
  const ids = isRoot ? postgresIds() : undefined;
  if (ids !== undefined) chownSync(dir, ids.uid, ids.gid);
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const port = await freePort();
  let running = false;
  let removed = false;

  await runAsPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const options = [
    '-c listen_addresses=127.0.0.1',
    `-p ${port}`,
    `-c unix_socket_directories=${dir}`,
    '-c fsync=off',
    '-c full_page_writes=off',
    '-c shared_buffers=32MB',
    '-c max_connections=60',
  ].join(' ');

  const client = (database: string) => new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database, connectionTimeoutMillis: 5_000 });
  const query = async <R extends object>(sql: string, params: readonly unknown[] = [], database = DATABASE): Promise<R[]> => {
    const connection = client(database);
    connection.on('error', () => undefined);
    await connection.connect();
    try {
      const result = await connection.query<R>(sql, [...params]);
      return result.rows;
    } finally {
      await connection.end().catch(() => undefined);
    }
  };

  const cluster: PrivatePostgres = {
    port,
    dir,
    url: (database = DATABASE) => `postgres://postgres@127.0.0.1:${port}/${database}`,
    running: () => running,
    async start() {
      await runAsPostgres('pg_ctl', ['-D', data, '-l', logFile, '-w', '-t', '60', '-o', options, 'start']);
      running = true;
    },
    async stop(mode = 'fast') {
      await runAsPostgres('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']);
      running = false;
    },
    async restart(mode = 'fast') {
      await cluster.stop(mode);
      await cluster.start();
    },
    async terminateBackends(database = DATABASE) {
      const rows = await query<{ terminated: boolean }>('SELECT pg_terminate_backend(pid) AS terminated FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database], 'postgres');
      return rows.filter((row) => row.terminated).length;
    },
    query,
    log: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
    async remove() {
      if (removed) return;
      removed = true;
      process.off('exit', stopAtExit);
      if (running) await cluster.stop('immediate').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };

  // A worker that dies without afterAll must not leave a server behind.
  const stopAtExit = () => {
    if (!running || removed) return;
    try {
      const args = ['-D', data, '-m', 'immediate', '-w', 'stop'];
      if (isRoot && RUNUSER !== undefined) execFileSync(RUNUSER, ['-u', 'postgres', '--', join(PG_BIN, 'pg_ctl'), ...args], { stdio: 'ignore' });
      else execFileSync(join(PG_BIN, 'pg_ctl'), args, { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  };
  process.on('exit', stopAtExit);

  try {
    await cluster.start();
    await query(`CREATE DATABASE ${DATABASE}`, [], 'postgres');
  } catch (error) {
    await cluster.remove();
    throw error;
  }
  return cluster;
}
