import { finiteOrNull, nonFiniteMember, type NonFiniteFields } from '../../platform/non-finite.js';
import type { Cell, ReportData } from '../report-query.js';
import type { ReportHeader } from './header.js';

/** JSON has no Infinity: such a cell is null and the row names it in `non_finite` (docs/metrics.md). */
function jsonRow(row: Record<string, Cell>): Record<string, Cell | NonFiniteFields> {
  const flags: NonFiniteFields = {};
  const cells = Object.fromEntries(Object.entries(row).map(([column, value]) => [column, typeof value === 'number' ? finiteOrNull(value, column, flags) : value]));
  return { ...cells, ...nonFiniteMember(flags) };
}

export function renderJson(header: ReportHeader, data: ReportData): Buffer {
  const document = {
    report: { id: header.reportId, name: header.name },
    range: { from: header.range.from.toISOString(), to: header.range.to.toISOString() },
    generated_at: header.generatedAt.toISOString(),
    query: header.query,
    columns: data.columns,
    rows: data.rows.map(jsonRow),
  };
  return Buffer.from(JSON.stringify(document, null, 2), 'utf8');
}
