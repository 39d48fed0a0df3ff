import { Type } from '@sinclair/typebox';
import { actorOf, principalOf, READ, type Authenticator } from '../auth/index.js';
import { AppError, NotFoundError } from '../errors.js';
import type { Clock } from '../platform/clock.js';
import type { Db } from '../platform/db/index.js';
import type { App } from '../platform/http/types.js';
import type { ReportFiles } from './report-files.js';
import { contentTypeOf, fileBaseOf, type ReportGenerator } from './report-generator.js';
import { validateQuery } from './report-query.js';
import { resolveRange } from './report-range.js';
import { HistorySchema, RangeSchema, ReportBodySchema, ReportSchema, type ReportBody } from './report.schema.js';
import { deleteReport, findHistory, findReport, insertReport, listHistory, listReports, updateReport, type HistoryRow, type ReportRow, type ReportValues } from './reports.repository.js';
import { nextRunAfter, validateSchedule } from './schedule.js';

const ADMIN = { roles: ['admin'], services: false } as const;
const GENERATE = { roles: ['admin', 'operator'], services: false } as const;
const Id = Type.Object({ id: Type.String({ format: 'uuid' }) });

const iso = (value: Date | null) => (value === null ? null : value.toISOString());

function shapeReport(row: ReportRow) {
  return {
    id: row.id,
    name: row.name,
    query: row.query,
    format: row.format,
    schedule: row.schedule,
    recipients: row.recipients,
    enabled: row.enabled,
    next_run_at: iso(row.next_run_at),
    last_run_at: iso(row.last_run_at),
    user_id: row.user_id,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

function shapeHistory(row: HistoryRow) {
  return {
    id: row.id,
    report_id: row.report_id,
    trigger: row.trigger,
    status: row.status,
    scheduled_for: iso(row.scheduled_for),
    generated_at: row.generated_at.toISOString(),
    range_from: iso(row.range_from),
    range_to: iso(row.range_to),
    format: row.format,
    file_url: row.file_url,
    row_count: row.row_count,
    byte_size: row.byte_size,
    error: row.error,
    email_status: row.email_status,
    email_error: row.email_error,
    emailed_at: iso(row.emailed_at),
  };
}

export interface ReportRoutesDeps {
  auth: Authenticator;
  db: Db;
  clock: Clock;
  files: ReportFiles;
  generator: ReportGenerator;
}

/** Report definitions (CRUD), their history, on-demand generation and downloads. */
export function reportRoutes(deps: ReportRoutesDeps) {
  /** Everything checked before a write, so a refused body writes nothing. */
  const valuesOf = (body: ReportBody): ReportValues => {
    validateQuery(body.query);
    resolveRange(body.query.range, deps.clock.now());
    validateSchedule(body.schedule);
    return { name: body.name, query: body.query, format: body.format, schedule: body.schedule, recipients: body.recipients, enabled: body.enabled, next_run_at: body.enabled ? nextRunAfter(body.schedule, deps.clock.now()) : null };
  };
  const load = async (tenantId: string, id: string): Promise<ReportRow> => {
    const row = await deps.db.withTenant(tenantId, (tx) => findReport(tx, tenantId, id));
    if (row === null) throw new NotFoundError('report', id);
    return row;
  };

  return async (app: App) => {
    app.post('/api/v1/monitoring/reports', { preHandler: deps.auth.require(ADMIN), schema: { tags: ['reports'], summary: 'Create a report definition', body: ReportBodySchema, response: { 201: ReportSchema } } }, async (request, reply) => {
      const principal = principalOf(request);
      const values = valuesOf(request.body);
      const row = await deps.db.withTenant(principal.tenantId, (tx) => insertReport(tx, principal.tenantId, actorOf(principal), values, deps.clock.now()));
      return reply.status(201).send(shapeReport(row));
    });

    app.get('/api/v1/monitoring/reports', { preHandler: deps.auth.require(READ), schema: { tags: ['reports'], summary: 'Report definitions', response: { 200: Type.Object({ data: Type.Array(ReportSchema) }) } } }, async (request) => {
      const { tenantId } = principalOf(request);
      return { data: (await deps.db.withTenant(tenantId, (tx) => listReports(tx, tenantId))).map(shapeReport) };
    });

    app.get('/api/v1/monitoring/reports/:id', { preHandler: deps.auth.require(READ), schema: { tags: ['reports'], summary: 'One report definition', params: Id, response: { 200: ReportSchema } } }, async (request) =>
      shapeReport(await load(principalOf(request).tenantId, request.params.id)),
    );

    app.put('/api/v1/monitoring/reports/:id', { preHandler: deps.auth.require(ADMIN), schema: { tags: ['reports'], summary: 'Replace a report definition (the schedule restarts from now)', params: Id, body: ReportBodySchema, response: { 200: ReportSchema } } }, async (request) => {
      const { tenantId } = principalOf(request);
      const values = valuesOf(request.body);
      const row = await deps.db.withTenant(tenantId, (tx) => updateReport(tx, tenantId, request.params.id, values, deps.clock.now()));
      if (row === null) throw new NotFoundError('report', request.params.id);
      return shapeReport(row);
    });

    app.delete('/api/v1/monitoring/reports/:id', { preHandler: deps.auth.require(ADMIN), schema: { tags: ['reports'], summary: 'Delete a report, its history and its files', params: Id, response: { 204: Type.Null() } } }, async (request, reply) => {
      const { tenantId } = principalOf(request);
      const deleted = await deps.db.withTenant(tenantId, (tx) => deleteReport(tx, tenantId, request.params.id));
      if (!deleted) throw new NotFoundError('report', request.params.id);
      await deps.files.removeReport(tenantId, request.params.id);
      return reply.status(204).send(null);
    });

    app.post(
      '/api/v1/monitoring/reports/:id/generate',
      {
        preHandler: deps.auth.require(GENERATE),
        schema: {
          tags: ['reports'],
          summary: 'Generate the report now; answers with the history record (status succeeded or failed)',
          params: Id,
          body: Type.Optional(Type.Object({ range: Type.Optional(RangeSchema) }, { additionalProperties: false })),
          response: { 201: HistorySchema },
        },
      },
      async (request, reply) => {
        const { tenantId } = principalOf(request);
        const report = await load(tenantId, request.params.id);
        const range = request.body?.range;
        if (range !== undefined) resolveRange(range, deps.clock.now());
        const history = await deps.generator.generate(report, { trigger: 'manual', scheduledFor: null, range });
        if (history === null) throw new AppError('CONFLICT', 'generation was claimed by another run');
        return reply.status(201).send(shapeHistory(history));
      },
    );

    app.get(
      '/api/v1/monitoring/reports/:id/history',
      {
        preHandler: deps.auth.require(READ),
        schema: { tags: ['reports'], summary: 'Generations of a report, newest first', params: Id, querystring: Type.Object({ limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }) }), response: { 200: Type.Object({ data: Type.Array(HistorySchema) }) } },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        await load(tenantId, request.params.id);
        return { data: (await deps.db.withTenant(tenantId, (tx) => listHistory(tx, tenantId, request.params.id, request.query.limit))).map(shapeHistory) };
      },
    );

    app.get(
      '/api/v1/monitoring/reports/:id/history/:historyId/download',
      {
        preHandler: deps.auth.require(READ),
        schema: { tags: ['reports'], summary: 'The generated file', params: Type.Object({ id: Type.String({ format: 'uuid' }), historyId: Type.String({ format: 'uuid' }) }) },
      },
      async (request, reply) => {
        const { tenantId } = principalOf(request);
        const report = await load(tenantId, request.params.id);
        const history = await deps.db.withTenant(tenantId, (tx) => findHistory(tx, tenantId, request.params.id, request.params.historyId));
        if (history === null) throw new NotFoundError('report generation', request.params.historyId);
        if (history.status !== 'succeeded' || history.file_path === null || history.format === null) throw new AppError('NOT_FOUND', `generation ${history.id} has no file (status ${history.status})`);
        const content = await deps.files.read(history.file_path);
        if (content === null) throw new AppError('NOT_FOUND', `the file of generation ${history.id} is no longer in REPORTS_DIR`);
        const name = `${fileBaseOf(report.name)}-${history.generated_at.toISOString().slice(0, 10)}.${history.format}`;
        return reply.type(contentTypeOf(history.format)).header('content-disposition', `attachment; filename="${name}"`).send(content);
      },
    );
  };
}
