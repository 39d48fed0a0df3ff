import type { ResolvedRange } from '../report-range.js';
import type { ReportQuery } from '../report.schema.js';

/** What every rendered report states about itself. */
export interface ReportHeader {
  reportId: string;
  name: string;
  query: ReportQuery;
  range: ResolvedRange;
  generatedAt: Date;
}
