import { RobustAnomalyDetector, type RobustDetectorOptions } from './robust-detector.js';

/** NAB timestamps are naive ("YYYY-MM-DD HH:MM:SS"); read as UTC. ISO strings with a zone keep it. */
export function parseTimestamp(text: string): number {
  const trimmed = text.trim();
  const iso = /[zZ]|[+-]\d\d:?\d\d$/.test(trimmed) ? trimmed : `${trimmed.replace(' ', 'T')}Z`;
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(`unreadable timestamp: ${JSON.stringify(text)}`);
  return ms;
}

export interface CsvRow {
  timestampMs: number;
  value: number;
}

/** Parses `timestamp,value` CSV with a header line; blank lines are skipped. */
export function parseSeriesCsv(text: string): CsvRow[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
  return lines.slice(1).map((line, index) => {
    const comma = line.lastIndexOf(',');
    const value = Number(line.slice(comma + 1));
    if (comma < 0 || !Number.isFinite(value)) throw new Error(`row ${index + 2}: expected timestamp,value`);
    return { timestampMs: parseTimestamp(line.slice(0, comma)), value };
  });
}

/** Scores rows in order with a fresh detector; score i depends only on rows 0..i. */
export function scoreSeries(rows: readonly CsvRow[], options: Partial<RobustDetectorOptions> = {}): number[] {
  const detector = new RobustAnomalyDetector(options);
  return rows.map((row) => detector.update(row.timestampMs, row.value));
}
