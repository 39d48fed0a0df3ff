import { readFileSync } from 'node:fs';
import { parseSeriesCsv, scoreSeries } from './ml/anomaly/csv-scoring.js';

/**
 * Command-line entry: `node dist/cli.js score-anomalies` reads CSV `timestamp,value` (with header)
 * on stdin and prints one anomaly score in [0,1] per row, each using only that row and earlier ones.
 */
const usage = 'usage: node dist/cli.js score-anomalies < series.csv';

function main(argv: readonly string[]): number {
  const [command] = argv;
  if (command !== 'score-anomalies') {
    process.stderr.write(`${usage}\n`);
    return 2;
  }
  const rows = parseSeriesCsv(readFileSync(0, 'utf8'));
  const scores = scoreSeries(rows);
  process.stdout.write(scores.length === 0 ? '' : `${scores.join('\n')}\n`);
  return 0;
}

try {
  process.exitCode = main(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`score-anomalies: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
