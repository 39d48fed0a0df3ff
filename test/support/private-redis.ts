import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './private-postgres.js';

/** Why a private Redis cannot be started here, or undefined when it can. */
export function privateRedisUnavailable(): string | undefined {
  const found = spawnSync('redis-server', ['--version'], { encoding: 'utf8' });
  return found.error === undefined && found.status === 0 ? undefined : 'redis-server is not installed (apt-get install redis-server)';
}

/** Answers true when a Redis on 127.0.0.1:port replies +PONG within timeoutMs. */
export function redisAnswers(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (answer: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** Everything the server printed (all runs). */
  output(): string;
  start(): Promise<void>;
  /** SIGTERM (after SIGCONT if frozen) and wait for the exit. */
  stop(): Promise<void>;
  /** SIGSTOP: the port still accepts connections, nothing answers. */
  freeze(): void;
  /** SIGCONT. */
  thaw(): void;
  /** SIGKILL and start again on the same port with nothing in it (no persistence). */
  restartEmpty(): Promise<void>;
  remove(): Promise<void>;
}

/**
 * `redis-server` on a free loopback port (or `port`), no persistence, as a child process of the
 * test. With `start: false` the port is chosen and nothing listens on it until start().
 */
export async function startPrivateRedis(options: { port?: number; start?: boolean } = {}): Promise<PrivateRedis> {
  const reason = privateRedisUnavailable();
  if (reason !== undefined) throw new Error(reason);
  const dir = mkdtempSync(join(tmpdir(), 'faults-redis-'));
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let frozen = false;
  let printed = '';
  let removed = false;

  const waitUntil = async (condition: () => Promise<boolean>, timeoutMs: number, what: string) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms; redis output:\n${printed.slice(-2_000)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const kill = async (signal: NodeJS.Signals) => {
    const running = child;
    if (running === undefined) return;
    if (frozen) {
      running.kill('SIGCONT');
      frozen = false;
    }
    running.kill(signal);
    await exited;
    child = undefined;
  };

  const stopAtExit = () => child?.kill('SIGKILL');

  const redis: PrivateRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    output: () => printed,
    async start() {
      if (child !== undefined) return;
      const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--protected-mode', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
      const collect = (chunk: Buffer) => {
        printed = (printed + chunk.toString('utf8')).slice(-100_000);
      };
      started.stdout?.on('data', collect);
      started.stderr?.on('data', collect);
      exited = new Promise((resolve) => started.once('exit', () => resolve()));
      child = started;
      await waitUntil(() => redisAnswers(port, 500), 20_000, `redis-server did not answer on port ${port}`);
    },
    stop: () => kill('SIGTERM'),
    freeze() {
      if (child === undefined || frozen) return;
      child.kill('SIGSTOP');
      frozen = true;
    },
    thaw() {
      if (child === undefined || !frozen) return;
      child.kill('SIGCONT');
      frozen = false;
    },
    async restartEmpty() {
      await kill('SIGKILL');
      await redis.start();
    },
    async remove() {
      if (removed) return;
      removed = true;
      process.off('exit', stopAtExit);
      await kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
  process.on('exit', stopAtExit);
  if (options.start === false) return redis;
  try {
    await redis.start();
  } catch (error) {
    await redis.remove();
    throw error;
  }
  return redis;
}
