import { renderCsv } from '../src/reports/render/csv.renderer.js';
import { renderJson } from '../src/reports/render/json.renderer.js';
import { renderPdf } from '../src/reports/render/pdf.renderer.js';
import type { ReportData } from '../src/reports/report-query.js';
import { percentile, writeSection } from './results.js';

/**
 * Rendering a 10,000-row report (hourly buckets of one series over ~14 months) in each format,
 * against the baseline in the same run: JSON.stringify of the same rows. The PDF draws the chart
 * of all 10,000 points and the first 1,000 rows of the table.
 */
const ROWS = 10_000;
const RUNS = 5;

const start = Date.UTC(2025, 0, 1);
const data: ReportData = {
  columns: ['bucket', 'samples', 'avg', 'min', 'max', 'sum'],
  rows: Array.from({ length: ROWS }, (_, index) => {
    const avg = 100 + ((index * 37) % 400) / 3;
    return { bucket: new Date(start + index * 3_600_000).toISOString(), samples: 60, avg, min: avg / 2, max: avg * 2, sum: avg * 60 };
  }),
  chart: { title: 'latency (average)', kind: 'line', points: [] },
};
data.chart.points = data.rows.map((row) => ({ label: String(row['bucket']), value: Number(row['avg']) }));
const header = { reportId: 'bench', name: 'Bench report', query: { source: 'metrics' as const, metric_name: 'latency', range: { last: '7d' } }, range: { from: new Date(start), to: new Date(start + ROWS * 3_600_000) }, generatedAt: new Date() };

async function time(label: string, work: () => Promise<Buffer> | Buffer): Promise<string> {
  await work();
  const durations: number[] = [];
  let bytes = 0;
  for (let run = 0; run < RUNS; run += 1) {
    const at = performance.now();
    bytes = (await work()).byteLength;
    durations.push(performance.now() - at);
  }
  durations.sort((a, b) => a - b);
  return `| ${label} | ${percentile(durations, 50).toFixed(1)} | ${(durations[durations.length - 1] ?? 0).toFixed(1)} | ${(bytes / 1024).toFixed(0)} |`;
}

const rows = [
  await time('baseline: JSON.stringify(rows)', () => Buffer.from(JSON.stringify(data.rows))),
  await time('CSV', () => renderCsv(data)),
  await time('JSON document', () => renderJson(header, data)),
  await time('PDF (chart of 10,000 points, first 1,000 table rows)', () => renderPdf(header, data)),
];
writeSection('Report rendering (issue 8)', `${ROWS} rows, ${RUNS} runs each after one warm-up.\n\n| format | median ms | max ms | KiB |\n|---|---|---|---|\n${rows.join('\n')}`);
console.log(rows.join('\n'));
