import { numberText } from '../../platform/non-finite.js';
import type { ReportData } from '../report-query.js';

/**
 * RFC 4180 CSV. Text cells that a spreadsheet would run as a formula (=, +, @, tab, CR, or a
 * `-` not starting a number) get a leading apostrophe; numbers are written as they are, a sum
 * past the double range as +Inf or -Inf.
 */
function field(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return numberText(value);
  const guarded = /^[=+@\t\r]/.test(value) || (/^-/.test(value) && !/^-\d/.test(value)) ? `'${value}` : value;
  return /[",\r\n]/.test(guarded) ? `"${guarded.replace(/"/g, '""')}"` : guarded;
}

export function renderCsv(data: ReportData): Buffer {
  const lines = [data.columns.map(field).join(',')];
  for (const row of data.rows) lines.push(data.columns.map((column) => field(row[column] ?? null)).join(','));
  return Buffer.from(`${lines.join('\r\n')}\r\n`, 'utf8');
}
