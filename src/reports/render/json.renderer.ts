import type { ReportData } from '../report-query.js';
import type { ReportHeader } from './header.js';

export function renderJson(header: ReportHeader, data: ReportData): Buffer {
  const document = {
    report: { id: header.reportId, name: header.name },
    range: { from: header.range.from.toISOString(), to: header.range.to.toISOString() },
    generated_at: header.generatedAt.toISOString(),
    query: header.query,
    columns: data.columns,
    rows: data.rows,
  };
  return Buffer.from(JSON.stringify(document, null, 2), 'utf8');
}
