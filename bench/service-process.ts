import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../test/support/private-postgres.js';
import { BENCH_JWT_SECRET } from './metrics-support.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The built service when there is one (what `npm start` runs), else the sources under tsx. */
export const serviceEntry = existsSync(join(ROOT, 'dist/main.js'))
  ? { label: 'node dist/main.js', args: [join(ROOT, 'dist/main.js')] }
  : { label: 'node --import tsx src/main.ts', args: ['--import', 'tsx', join(ROOT, 'src/main.ts')] };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function procStatusKiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`no ${field} for pid ${pid}`);
  return Number(match[1]);
}

export interface ServiceProcess {
  base: string;
  rssMiB(): number;
  peakMiB(): number;
  stop(): Promise<void>;
}

/**
 * The service as users run it, in its own process on a free loopback port, signed with the
 * bench's secrets; `env` adds to (or overrides) its configuration, `nodeArgs` go to node (a CPU profile). Resolves once /health/live answers.
 */
export async function startService(env: Record<string, string>, nodeArgs: string[] = []): Promise<ServiceProcess> {
  const port = await freePort();
  const fullEnv = { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', JWT_SECRET: BENCH_JWT_SECRET, INTERNAL_HMAC_SECRET: `${BENCH_JWT_SECRET}-hmac`, ...env };
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, ...serviceEntry.args], { cwd: ROOT, env: fullEnv, stdio: ['ignore', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => (errors = (errors + chunk.toString()).slice(-4_000)));
  const pid = child.pid;
  if (pid === undefined) throw new Error('the service did not start');
  const base = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(20_000)]);
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  // Readiness is polled; the deadline only turns a service that never answers into an error.
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && child.exitCode === null) {
    if ((await fetch(`${base}/health/live`).catch(() => undefined))?.ok === true) {
      return { base, rssMiB: () => procStatusKiB(pid, 'VmRSS') / 1024, peakMiB: () => procStatusKiB(pid, 'VmHWM') / 1024, stop };
    }
    await sleep(200);
  }
  await stop();
  throw new Error(`the service did not become ready: ${errors}`);
}
