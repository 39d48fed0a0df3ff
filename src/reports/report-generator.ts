import type { SampleSource } from '../metrics/index.js';
import type { Logger } from 'pino';
import type { EmailSender } from '../alerts/notify/email.js';
import type { DeliveryOutcome } from '../alerts/notify/outcome.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import { renderCsv } from './render/csv.renderer.js';
import type { ReportHeader } from './render/header.js';
import { renderJson } from './render/json.renderer.js';
import { renderPdf } from './render/pdf.renderer.js';
import type { ReportFiles } from './report-files.js';
import { runReportQuery, type ReportData } from './report-query.js';
import { resolveRange, type ResolvedRange } from './report-range.js';
import type { ReportFormat, Range } from './report.schema.js';
import { advanceSchedule, claimRun, finishRun, recordEmail, type EmailStatus, type HistoryRow, type ReportRow } from './reports.repository.js';
import { nextRunAfter } from './schedule.js';

const MAX_EMAIL_ATTEMPTS = 5;
const MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024;
const CONTENT_TYPES: Record<ReportFormat, string> = { csv: 'text/csv; charset=utf-8', json: 'application/json', pdf: 'application/pdf' };

export const contentTypeOf = (format: ReportFormat): string => CONTENT_TYPES[format];
/** The report's name made safe for a file name (attachments and downloads). */
export const fileBaseOf = (reportName: string): string => reportName.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'report';
export const downloadUrl = (reportId: string, historyId: string): string => `/api/v1/monitoring/reports/${reportId}/history/${historyId}/download`;

export interface ReportGeneratorDeps {
  db: Db;
  clock: Clock;
  logger: Logger;
  files: ReportFiles;
  email: EmailSender;
  maxRows: number;
  /** Where metrics reports read samples. */
  samples: SampleSource;
}

export interface ReportGenerator {
  /**
   * Generates one run. Scheduled runs pass `scheduledFor`: the run is claimed through
   * UNIQUE (report_id, scheduled_for), so with several instances exactly one generates it;
   * the others get null. The schedule moves on in the same transaction as the claim.
   */
  generate(report: ReportRow, options: { trigger: 'schedule' | 'manual'; scheduledFor: Date | null; range?: Range }): Promise<HistoryRow | null>;
  /** Sends the e-mail of a finished run again (runs whose SMTP answer was temporary). */
  retryEmail(history: HistoryRow, report: ReportRow): Promise<void>;
}

const render = async (format: ReportFormat, header: ReportHeader, data: ReportData): Promise<Buffer> => {
  switch (format) {
    case 'csv':
      return renderCsv(data);
    case 'json':
      return renderJson(header, data);
    case 'pdf':
      return renderPdf(header, data);
  }
};

export function createReportGenerator(deps: ReportGeneratorDeps): ReportGenerator {
  /** Sends the run's e-mail and records the outcome; answers the updated history row. */
  const mail = async (report: ReportRow, history: HistoryRow, range: ResolvedRange): Promise<HistoryRow | null> => {
    if (history.file_path === null || history.format === null) return null;
    const format = history.format;
    const filePath = history.file_path;
    let outcome: DeliveryOutcome;
    try {
      const content = await deps.files.read(filePath);
      if (content === null) throw new Error(`the file of generation ${history.id} is no longer in REPORTS_DIR`);
      const filename = `${fileBaseOf(report.name)}.${format}`;
      outcome = await deps.email.send({
        to: report.recipients,
        subject: `Report: ${report.name} (${range.from.toISOString()} to ${range.to.toISOString()})`,
        text: `${report.name}\nRange: ${range.from.toISOString()} to ${range.to.toISOString()} (UTC)\nRows: ${history.row_count ?? 0}\nDownload: ${history.file_url ?? ''}\n`,
        attachments: content.byteLength <= MAX_ATTACHMENT_BYTES ? [{ filename, content, contentType: contentTypeOf(format) }] : undefined,
      });
    } catch (error) {
      outcome = { status: 'retryable', error: error instanceof Error ? error.message : String(error) };
    }
    let status: EmailStatus;
    if (outcome.status === 'ok') status = 'sent';
    else if (deps.email.notConfigured !== null) status = 'not_configured';
    else if (outcome.status === 'retryable' && history.email_attempts + 1 < MAX_EMAIL_ATTEMPTS) status = 'retrying';
    else status = 'failed';
    const error = outcome.status === 'ok' ? null : (deps.email.notConfigured ?? outcome.error);
    return deps.db.withTenant(report.tenant_id, (tx) => recordEmail(tx, report.tenant_id, history.id, { status, error, at: deps.clock.now() }));
  };

  return {
    async generate(report, options) {
      const now = deps.clock.now();
      const claimed = await deps.db.withTenant(report.tenant_id, async (tx) => {
        const run = await claimRun(tx, report, options.scheduledFor, options.trigger, now);
        if (run !== null && options.trigger === 'schedule') await advanceSchedule(tx, report, nextRunAfter(report.schedule, now), now);
        return run;
      });
      if (claimed === null) return null;

      const at = options.scheduledFor ?? now;
      let range: ResolvedRange | null = null;
      let finished;
      try {
        range = resolveRange(options.range ?? report.query.range, at);
        const resolved = range;
        const data = await deps.db.withTenant(report.tenant_id, (tx) => runReportQuery(tx, report.tenant_id, report.query, resolved, deps.maxRows, deps.samples));
        const header: ReportHeader = { reportId: report.id, name: report.name, query: report.query, range, generatedAt: now };
        const content = await render(report.format, header, data);
        const file = await deps.files.write(report.tenant_id, report.id, claimed.id, report.format, content);
        finished = {
          status: 'succeeded' as const,
          range_from: range.from,
          range_to: range.to,
          file_url: downloadUrl(report.id, claimed.id),
          file_path: file.path,
          row_count: data.rows.length,
          byte_size: file.bytes,
          error: null,
          email_status: report.recipients.length > 0 ? ('retrying' as const) : ('not_requested' as const),
        };
      } catch (error) {
        deps.logger.warn({ err: error, tenantId: report.tenant_id, reportId: report.id }, 'report generation failed');
        const message = error instanceof Error ? error.message : String(error);
        finished = { status: 'failed' as const, range_from: range?.from ?? null, range_to: range?.to ?? null, file_url: null, file_path: null, row_count: null, byte_size: null, error: message, email_status: null };
      }
      let history = await deps.db.withTenant(report.tenant_id, (tx) => finishRun(tx, report.tenant_id, claimed.id, finished));
      if (history.status === 'succeeded' && report.recipients.length > 0 && range !== null) {
        const mailed = await mail(report, history, range).catch((error: unknown) => {
          deps.logger.error({ err: error, tenantId: report.tenant_id, reportId: report.id }, 'report e-mail failed');
          return null;
        });
        history = mailed ?? history;
      }
      return history;
    },
    async retryEmail(history, report) {
      if (history.range_from === null || history.range_to === null) return;
      await mail(report, history, { from: history.range_from, to: history.range_to });
    },
  };
}
