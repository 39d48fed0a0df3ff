import { Type } from '@sinclair/typebox';
import { actorOf, principalOf, READ } from '../auth/index.js';
import { readThrough, READ_TTL_MS } from '../cache-admin/read-cache.js';
import type { Container } from '../container.js';
import { OffsetPageQuery, OffsetPageSchema } from '../platform/http/pagination.js';
import type { App } from '../platform/http/types.js';
import {
  CreateIncidentSchema,
  IdParams,
  IncidentSchema,
  IncidentWithTimelineSchema,
  incidentJson,
  SeveritySchema,
  StatusSchema,
  TimelineEntrySchema,
  timelineJson,
  UpdateIncidentSchema,
} from './incidents.schemas.js';
import type { IncidentService, IncidentWithTimeline } from './incidents.service.js';

const WRITE = { roles: ['admin', 'operator'], services: false } as const;
const BASE = '/api/v1/monitoring/incidents';

const detailJson = (incident: IncidentWithTimeline) => ({ ...incidentJson(incident), timeline: incident.timeline.map(timelineJson) });

export function incidentRoutes(container: Container, incidents: IncidentService) {
  return async (app: App) => {
    app.post(
      BASE,
      { preHandler: container.auth.require(WRITE), schema: { tags: ['incidents'], summary: 'Open an incident', body: CreateIncidentSchema, response: { 201: IncidentWithTimelineSchema } } },
      async (request, reply) => {
        const principal = principalOf(request);
        const { started_at: startedAt, ...rest } = request.body;
        const incident = await incidents.create(principal.tenantId, actorOf(principal), { ...rest, ...(startedAt === undefined ? {} : { started_at: new Date(startedAt) }) });
        return reply.status(201).send(detailJson(incident));
      },
    );

    app.get(
      BASE,
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['incidents'],
          summary: 'Incidents, newest first',
          querystring: Type.Object({
            status: Type.Optional(StatusSchema),
            severity: Type.Optional(SeveritySchema),
            service: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            active: Type.Optional(Type.Boolean()),
            ...OffsetPageQuery,
          }),
          response: { 200: OffsetPageSchema(IncidentSchema) },
        },
      },
      async (request) => {
        const { limit, offset } = request.query;
        const { rows, total } = await incidents.list(principalOf(request).tenantId, request.query);
        return { data: rows.map(incidentJson), pagination: { limit, offset, total } };
      },
    );

    app.get(
      `${BASE}/:id`,
      { preHandler: container.auth.require(READ), schema: { tags: ['incidents'], summary: 'One incident with its timeline', params: IdParams, response: { 200: IncidentWithTimelineSchema } } },
      async (request) => detailJson(await incidents.get(principalOf(request).tenantId, request.params.id)),
    );

    app.patch(
      `${BASE}/:id`,
      {
        preHandler: container.auth.require(WRITE),
        schema: { tags: ['incidents'], summary: 'Change fields or status (every change is written to the timeline)', params: IdParams, body: UpdateIncidentSchema, response: { 200: IncidentWithTimelineSchema } },
      },
      async (request) => {
        const principal = principalOf(request);
        return detailJson(await incidents.update(principal.tenantId, request.params.id, actorOf(principal), request.body));
      },
    );

    app.post(
      `${BASE}/:id/resolve`,
      {
        preHandler: container.auth.require(WRITE),
        schema: {
          tags: ['incidents'],
          summary: 'Resolve an incident (409 when already resolved)',
          params: IdParams,
          body: Type.Optional(Type.Object({ resolution: Type.Optional(Type.String({ minLength: 1, maxLength: 10_000 })) }, { additionalProperties: false })),
          response: { 200: IncidentWithTimelineSchema },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        return detailJson(await incidents.resolve(principal.tenantId, request.params.id, actorOf(principal), request.body?.resolution ?? null));
      },
    );

    app.post(
      `${BASE}/:id/timeline`,
      {
        preHandler: container.auth.require(WRITE),
        schema: {
          tags: ['incidents'],
          summary: 'Add a note to the timeline',
          params: IdParams,
          body: Type.Object({ message: Type.String({ minLength: 1, maxLength: 10_000 }) }, { additionalProperties: false }),
          response: { 201: TimelineEntrySchema },
        },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        return reply.status(201).send(timelineJson(await incidents.addNote(principal.tenantId, request.params.id, actorOf(principal), request.body.message)));
      },
    );

    app.get(
      '/api/v1/monitoring/dashboard/incidents',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['dashboard'],
          summary: 'Active incidents with counts by severity and status',
          response: {
            200: Type.Object({
              active_total: Type.Integer(),
              by_severity: Type.Record(Type.String(), Type.Integer()),
              by_status: Type.Record(Type.String(), Type.Integer()),
              incidents: Type.Array(IncidentSchema),
            }),
          },
        },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        return readThrough(container.cache, tenantId, ['incidents'], READ_TTL_MS.incidents, async () => {
          const dashboard = await incidents.dashboard(tenantId);
          return { ...dashboard, incidents: dashboard.incidents.map(incidentJson) };
        });
      },
    );
  };
}
