/**
 * Tuning loop for the robust detector on the NAB subset, in-process (no build needed):
 *   npx tsx bench/nab-tune.ts '{"window":288}'
 * Prints the three normalized profile scores and the per-file standard score.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { parseSeriesCsv, scoreSeries } from '../src/ml/anomaly/csv-scoring.js';

const nab = new URL('../../shared/data/nab/', import.meta.url).pathname;
const scorer = new URL('../../shared/tools/nab/nab-score.mjs', import.meta.url).pathname;
const options = JSON.parse(process.argv[2] ?? '{}') as Record<string, number>;
const windows = JSON.parse(readFileSync(join(nab, 'labels/combined_windows.json'), 'utf8')) as Record<string, unknown>;
const out = '/tmp/nab-tune/tune';
for (const name of Object.keys(windows)) {
  const text = readFileSync(join(nab, 'data', name), 'utf8');
  const rows = parseSeriesCsv(text);
  const scores = scoreSeries(rows, options);
  const file = join(out, dirname(name), `tune_${basename(name)}`);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, ['timestamp,value,anomaly_score', ...text.split(/\r?\n/).slice(1).filter((l) => l.trim() !== '').map((l, i) => `${l},${scores[i] ?? 0}`)].join('\n') + '\n');
}
const { scoreResults } = (await import(scorer)) as { scoreResults: (o: object) => { profiles: Record<string, { normalizedScore: number; threshold: number }>; perFile: Record<string, Array<{ file: string; score: number; fp: number; windowsDetected: number; windows: number }>> } };
const result = scoreResults({ results: out, detector: 'tune', nab, perFile: true });
console.log(Object.entries(result.profiles).map(([k, v]) => `${k}=${v.normalizedScore.toFixed(1)} thr=${v.threshold.toFixed(4)}`).join('  '));
for (const f of result.perFile.standard ?? []) console.log(`  ${f.file.padEnd(55)} ${f.score.toFixed(2).padStart(7)} det ${f.windowsDetected}/${f.windows} fp ${f.fp}`);
