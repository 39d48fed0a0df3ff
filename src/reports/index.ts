import type { SampleSource } from '../metrics/index.js';
import type { Logger } from 'pino';
import type { EmailSender } from '../alerts/notify/email.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import type { UnitFailed } from '../platform/scheduler.js';
import { createReportFiles, type ReportFiles } from './report-files.js';
import { createReportGenerationJob } from './report-generation.job.js';
import { createReportGenerator, type ReportGenerator } from './report-generator.js';

export { reportRoutes } from './reports.routes.js';
export { REPORT_GENERATION_JOB } from './report-generation.job.js';

export interface Reports {
  files: ReportFiles;
  generator: ReportGenerator;
  /** One cycle of the report-generation job (the scheduler runs it once per cluster). */
  runDue(now: Date, signal: AbortSignal, onUnitFailure?: UnitFailed): Promise<void>;
}

export function createReports(deps: { db: Db; clock: Clock; logger: Logger; email: EmailSender; reportsDir: string; maxRows: number; samples: SampleSource }): Reports {
  const files = createReportFiles(deps.reportsDir);
  const generator = createReportGenerator({ db: deps.db, clock: deps.clock, logger: deps.logger, files, email: deps.email, maxRows: deps.maxRows, samples: deps.samples });
  return { files, generator, runDue: createReportGenerationJob({ db: deps.db, logger: deps.logger, generator }) };
}
