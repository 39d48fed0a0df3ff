import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import { runCompaction } from '../src/metrics/compaction.job.js';
import type { SampleInput } from '../src/metrics/sample.js';
import { seededRandom } from '../test/support/fraud.js';
import { fmt, startApp, targets } from './metrics-support.js';
import { chunkSizeOf } from './store-size.js';
import { writeSection } from './results.js';

/**
 * Bytes per sample of the compacted store for value and timestamp shapes that compress well and
 * badly: chunks keep values as float8[] and TOAST compresses them (pglz), so the figure depends
 * on the data. Each shape is SERIES series of SAMPLES_PER_SERIES samples on one closed day,
 * ingested through the ingest function, compacted, and measured as this tenant's share of the
 * chunk partitions (tables, indexes, TOAST) plus its series rows.
 */

const SERIES = 20;
const SAMPLES_PER_SERIES = Number(process.env['STORE_BYTES_SAMPLES'] ?? 20_000);
const DAY_MS = 86_400_000;
const day = Math.floor(Date.now() / DAY_MS) * DAY_MS - 2 * DAY_MS;

interface Shape {
  name: string;
  value: (series: number, index: number, random: () => number, previous: number) => number;
  /** Milliseconds after the day's start of a sample. */
  at: (index: number, random: () => number) => number;
}

const everySecond = (index: number) => index * 1000;
// Scrapes drift by a few milliseconds: the timestamps are then stored as offsets.
const jittered = (index: number, random: () => number) => index * 1000 + Math.floor(random() * 20);

const SHAPES: Shape[] = [
  { name: 'counter, small steps, every 1 s', value: (series, index) => index * 3 + ((index + series) % 7), at: everySecond },
  { name: 'gauge, random walk at 2 decimals, every 1 s', value: (_series, _index, random, previous) => Math.round((previous + (random() - 0.5) * 4) * 100) / 100, at: everySecond },
  { name: 'latency, random doubles, every 1 s', value: (_series, _index, random) => 20 + random() * 200, at: everySecond },
  { name: 'counter, small steps, 1 s with jitter', value: (series, index) => index * 3 + ((index + series) % 7), at: jittered },
  { name: 'latency, random doubles, 1 s with jitter', value: (_series, _index, random) => 20 + random() * 200, at: jittered },
];

const lines: string[] = [];
for (const target of targets()) {
  const lifted = { LIMIT_SAMPLES_PER_SECOND: '1000000000', LIMIT_SAMPLES_BURST: '1000000000', INGEST_MAX_BATCH: '10000' };
  const { app, container } = await startApp({ ...target.env, ...lifted });
  try {
    for (const [shapeIndex, shape] of SHAPES.entries()) {
      const tenant = randomUUID();
      // Seeded, so every run measures the same numbers.
      const random = seededRandom(20_261_207 + shapeIndex);
      for (let series = 0; series < SERIES; series += 1) {
        let previous = 100;
        for (let first = 0; first < SAMPLES_PER_SERIES; first += 5_000) {
          const batch: SampleInput[] = [];
          for (let index = first; index < Math.min(SAMPLES_PER_SERIES, first + 5_000); index += 1) {
            previous = shape.value(series, index, random, previous);
            batch.push({ name: 'bench_bytes', service: 'bench', value: previous, labels: { series: `s${series}` }, timestamp: new Date(day + shape.at(index, random)).toISOString() });
          }
          await container.ingest.ingest(tenant, batch, 'internal');
        }
      }
      const compaction = await runCompaction({ db: container.db, logger: container.logger, delayMs: 0 }, new Date());
      if (compaction.failed > 0) throw new Error(`compaction failed for ${compaction.failed} units`);
      const size = await chunkSizeOf(container.db, tenant);
      if (size.samples !== SERIES * SAMPLES_PER_SERIES) throw new Error(`${size.samples} samples compacted, ${SERIES * SAMPLES_PER_SERIES} expected`);
      lines.push(`| ${target.label} | ${shape.name} | ${size.chunks} (${size.regular} with a step) | ${fmt(size.bytes / size.samples, 2)} |`);
      process.stdout.write(`${target.label} ${shape.name}: ${fmt(size.bytes / size.samples, 2)} bytes/sample\n`);
    }
  } finally {
    await app.close();
  }
}

const body = `${SERIES} series of ${SAMPLES_PER_SERIES.toLocaleString('en-US')} samples per shape on one closed UTC day, through the ingest function, then the compaction job; bytes are this tenant's share of the chunk partitions (tables, indexes, TOAST; shared out by compressed payload, as other tenants' chunks compress differently) plus its series rows, over its samples. Values are stored as float8[] (8 bytes each before compression) and timestamps as a step or int4[] offsets (4 bytes each), compressed by TOAST's pglz. Load average at the end: ${loadavg().map((value) => value.toFixed(1)).join(', ')}.

| database | shape | chunks | bytes/sample |
|---|---|---|---|
${lines.join('\n')}`;
writeSection('Metric store: bytes per sample after compaction, by shape of the data', body);
process.stdout.write(`${body}\n`);
process.exit(0);
