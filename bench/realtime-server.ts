import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createContainer } from '../src/container.js';

/**
 * One service instance for bench/realtime.bench.ts, in its own process (as in production).
 * Messages from the parent: {start: {tenantId, rate, batch, durationMs}} ingests samples at the
 * given rate; {stop} closes. It reports {listening: port}, {done: {commits, samples, memory}}.
 */
type Command = { start: { tenantId: string; samplesPerSecond: number; batch: number; durationMs: number } } | { stop: true };

const send = (message: unknown) => process.send?.(message);

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const container = await createContainer({ config });
  const app = await buildApp(container);
  await app.listen({ port: 0, host: '127.0.0.1' });
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 250);
  send({ listening: (app.server.address() as AddressInfo).port, rssIdle: process.memoryUsage().rss });

  process.on('message', (command: Command) => {
    if ('stop' in command) {
      clearInterval(sampler);
      void app.close().then(() => process.exit(0));
      return;
    }
    const { tenantId, samplesPerSecond, batch, durationMs } = command.start;
    const intervalMs = (1000 * batch) / samplesPerSecond;
    const started = performance.now();
    let issued = 0;
    let commits = 0;
    let failures = 0;
    const rssBefore = process.memoryUsage().rss;
    const tick = () => {
      const elapsed = performance.now() - started;
      if (elapsed >= durationMs) {
        setTimeout(() => send({ done: { commits, failures, samples: commits * batch, rssBefore, peakRss, heapUsed: process.memoryUsage().heapUsed, connections: container.realtime.hub.connectionCount() } }), 1_000);
        return;
      }
      const samples = Array.from({ length: batch }, (_, index) => ({ name: `bench_live_${index % 5}`, service: 'bench', value: commits * batch + index, labels: { run: randomUUID().slice(0, 8) } }));
      issued += 1;
      container.ingest.ingest(tenantId, samples, 'http').then(
        () => (commits += 1),
        () => (failures += 1),
      );
      // Schedule on the ideal timeline so a slow commit does not lower the rate.
      setTimeout(tick, Math.max(0, issued * intervalMs - elapsed));
    };
    tick();
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench server failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
