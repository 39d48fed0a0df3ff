import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './private-postgres.js';

/** A peer program (Prometheus, VictoriaMetrics) on a private port and data directory. */
export interface PeerProcess {
  url: string;
  dataDir: string;
  /** Stops the program and removes its directory. */
  stop(): Promise<void>;
}

async function startPeer(name: string, command: string, args: (port: number, dataDir: string) => string[], readyPath: string, prepare?: (dataDir: string, port: number) => void): Promise<PeerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), `${name}-`));
  const port = await freePort();
  prepare?.(dataDir, port);
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(command, args(port, dataDir), { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
  child.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
  // Readiness is polled, not timed: the deadline only turns a program that never starts into an error.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const response = await fetch(`${url}${readyPath}`).catch(() => undefined);
    if (response?.ok === true) return { url, dataDir, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`${name} did not become ready: ${output}`);
}

/** Prometheus with the remote-write receiver on; `config` makes its prometheus.yml from its port. */
export function startPrometheus(config: (port: number) => string = () => 'global:\n  scrape_interval: 1m\n', extraArgs: readonly string[] = []): Promise<PeerProcess> {
  return startPeer(
    'prometheus',
    'prometheus',
    (port, dataDir) => [`--config.file=${join(dataDir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dataDir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--web.enable-remote-write-receiver', '--storage.tsdb.retention.time=100y', '--log.level=warn', ...extraArgs],
    '/-/ready',
    (dataDir, port) => writeFileSync(join(dataDir, 'prometheus.yml'), config(port)),
  );
}

/** VictoriaMetrics (single node) answering queries up to now (no 30 s latency offset). */
export function startVictoriaMetrics(): Promise<PeerProcess> {
  return startPeer('victoria-metrics', 'victoria-metrics', (port, dataDir) => [`-storageDataPath=${dataDir}`, `-httpListenAddr=127.0.0.1:${port}`, '-search.latencyOffset=0s', '-retentionPeriod=100y', '-loggerLevel=ERROR'], '/health');
}
