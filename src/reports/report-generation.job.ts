import type { Logger } from 'pino';
import type { Db } from '../platform/db/index.js';
import type { UnitFailed } from '../platform/scheduler.js';
import type { ReportGenerator } from './report-generator.js';
import { dueReports, emailRetries, reportsByIds } from './reports.repository.js';

export const REPORT_GENERATION_JOB = 'report-generation';
const BATCH = 20;
/** A run still 'running' after this long lost its instance (crash, deploy) and is closed as failed. */
const STALE_RUN_MS = 60 * 60_000;

/**
 * One cycle: close abandoned runs, generate every due scheduled report, retry pending e-mails.
 * Each report is one unit of its tenant: a run that fails (recorded in report_history, retried at
 * its next schedule) is logged with the tenant and reported; the other reports go on.
 */
export function createReportGenerationJob(deps: { db: Db; logger: Logger; generator: ReportGenerator }) {
  return async (now: Date, signal: AbortSignal, onUnitFailure?: UnitFailed): Promise<void> => {
    await deps.db.asSystem((tx) =>
      tx.query("UPDATE report_history SET status = 'failed', error = 'interrupted: the instance generating it stopped' WHERE status = 'running' AND generated_at < $1", [new Date(now.getTime() - STALE_RUN_MS)]),
    );
    const due = await deps.db.asSystem((tx) => dueReports(tx, now, BATCH));
    for (const report of due) {
      if (signal.aborted) return;
      const unit = { tenantId: report.tenant_id, reportId: report.id };
      try {
        const run = await deps.generator.generate(report, { trigger: 'schedule', scheduledFor: report.next_run_at });
        if (run?.status === 'failed') onUnitFailure?.(unit, run.error);
      } catch (error) {
        deps.logger.error({ err: error, ...unit }, 'scheduled report failed');
        onUnitFailure?.(unit, error);
      }
    }
    // The retries and their reports in two queries, not one query per retry.
    const { retries, reports } = await deps.db.asSystem(async (tx) => {
      const rows = await emailRetries(tx, BATCH);
      const found = rows.length === 0 ? [] : await reportsByIds(tx, [...new Set(rows.map((row) => row.report_id))]);
      const byId = new Map(found.map((report) => [report.id, report]));
      return { retries: rows, reports: byId };
    });
    for (const history of retries) {
      if (signal.aborted) return;
      const report = reports.get(history.report_id);
      if (report === undefined) continue;
      await deps.generator.retryEmail(history, report).catch((error: unknown) => {
        deps.logger.error({ err: error, tenantId: report.tenant_id, reportId: report.id }, 'report e-mail retry failed');
        onUnitFailure?.({ tenantId: report.tenant_id, reportId: report.id }, error);
      });
    }
  };
}
