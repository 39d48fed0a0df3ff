import { randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { createCommitQueue } from '../src/metrics/commit-queue.js';
import { busMessagesOf } from '../src/metrics/ingest.js';
import type { CommittedBatch } from '../src/metrics/index.js';
import { seriesKeyOf } from '../src/metrics/index.js';
import { createMemoryBus, TOPICS, type Bus } from '../src/platform/bus/index.js';
import { percentile, writeSection } from './results.js';

/**
 * Issue 14 point 3: what a 1,000-sample push does on the request path after its commit.
 * - before (the baseline, as ingest did until this change): build the metrics-stream messages
 *   (two chunks of 500, toISOString per sample), publish them on the in-process bus, which
 *   structuredClone()d each value per consumer group, and start every listener in a microtask,
 *   which ran before the next request got the CPU;
 * - after: one enqueue into the dispatch queue; the same work (minus the copies) runs from
 *   setImmediate turns, measured apart as the drain time per batch.
 * Two consumer groups on metrics-stream (this service's own consumer and one more), and the
 * listeners' work as in production: WebSocket fan-out maps every sample, the stream processor
 * counts names. No database: the commit costs the same in both.
 */
const SAMPLES = 1_000;
const ROUNDS = 300;

const logger = pino({ level: 'silent' });

function makeBatch(): CommittedBatch {
  const now = Date.now();
  const samples = Array.from({ length: SAMPLES }, (_, index) => {
    const labels = { host: `h${index % 50}`, region: index % 2 === 0 ? 'eu' : 'us' };
    return { name: 'bench_dispatch', service: `svc-${index % 10}`, value: index, labels, timestamp: new Date(now - index * 1_000), seriesKey: seriesKeyOf('bench_dispatch', `svc-${index % 10}`, labels) };
  });
  return { tenantId: randomUUID(), source: 'http', samples, committedAt: new Date(now) };
}

const listeners: Array<(batch: CommittedBatch) => void> = [
  // realtime: the WebSocket message of the batch.
  (batch) => void JSON.stringify(batch.samples.map((sample) => ({ name: sample.name, service: sample.service, value: sample.value, labels: sample.labels, timestamp: sample.timestamp.toISOString() }))),
  // stream processor: counts per name.
  (batch) => {
    const counts = new Map<string, number>();
    for (const sample of batch.samples) counts.set(sample.name, (counts.get(sample.name) ?? 0) + 1);
  },
];

async function busWithGroups(): Promise<Bus> {
  const bus = createMemoryBus();
  await bus.subscribe(TOPICS.metrics, 'monitoring-metrics-group', async () => undefined);
  await bus.subscribe(TOPICS.metrics, 'another-group', async () => undefined);
  return bus;
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** The baseline: the old inline path, with the clone per group the memory bus used to make. */
async function before(bus: Bus, batches: readonly CommittedBatch[]): Promise<number[]> {
  const times: number[] = [];
  for (const batch of batches) {
    const started = performance.now();
    const messages = busMessagesOf(batch);
    // Two groups: the old bus cloned each value once per group.
    for (let group = 0; group < 2; group += 1) for (const message of messages) structuredClone(message.value);
    void bus.publish(TOPICS.metrics, messages);
    await Promise.all(listeners.map((listener) => Promise.resolve().then(() => listener(batch))));
    times.push(performance.now() - started);
    await settle();
  }
  return times;
}

async function after(bus: Bus, batches: readonly CommittedBatch[]): Promise<{ request: number[]; drainMs: number }> {
  const queue = createCommitQueue({ maxSamples: Number.POSITIVE_INFINITY, logger });
  queue.consume('bus', (batch) => bus.publish(TOPICS.metrics, busMessagesOf(batch)));
  listeners.forEach((listener, index) => queue.consume(`listener-${index}`, listener));
  const request: number[] = [];
  let drainMs = 0;
  for (const batch of batches) {
    const started = performance.now();
    queue.enqueue(batch);
    request.push(performance.now() - started);
    const drainStarted = performance.now();
    await queue.drained();
    drainMs += performance.now() - drainStarted;
  }
  return { request, drainMs };
}

const bus = await busWithGroups();
const warm = Array.from({ length: 30 }, makeBatch);
await before(bus, warm);
await after(bus, warm);
const batches = Array.from({ length: ROUNDS }, makeBatch);
const old = (await before(bus, batches)).sort((a, b) => a - b);
const now = await after(bus, batches);
const request = now.request.sort((a, b) => a - b);
await bus.close();

const us = (ms: number) => `${(ms * 1_000).toFixed(1)} µs`;
const rows = [
  `| path | p50 | p99 |`,
  `|---|---|---|`,
  `| before: inline after the commit (messages, clone per group, listeners in microtasks) | ${us(percentile(old, 50))} | ${us(percentile(old, 99))} |`,
  `| after: enqueue on the request path | ${us(percentile(request, 50))} | ${us(percentile(request, 99))} |`,
];
const body = `Request-path time of a ${SAMPLES.toLocaleString('en')}-sample push after its commit, ${ROUNDS} rounds, two consumer groups on metrics-stream (bench/ingest-dispatch.bench.ts).

${rows.join('\n')}

After the answer, the dispatch queue does the same work without the copies: ${us(now.drainMs / ROUNDS)} per batch on average, from setImmediate turns.`;
process.stdout.write(`${body}\n`);
writeSection('Ingest: work after the commit (issue 14 point 3)', body);
