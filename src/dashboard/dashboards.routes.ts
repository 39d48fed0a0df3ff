import { Type } from '@sinclair/typebox';
import { actorOf, principalOf, READ, type Principal } from '../auth/index.js';
import type { Container } from '../container.js';
import { ForbiddenError, NotFoundError } from '../errors.js';
import { OffsetPageQuery, OffsetPageSchema } from '../platform/http/pagination.js';
import type { App } from '../platform/http/types.js';
import type { Tx } from '../platform/db/index.js';
import { assertWithinQuota } from '../limits/index.js';
import { countDashboards, deleteDashboard, findDashboard, insertDashboard, replaceDashboard, visibleDashboards, type DashboardRow } from './dashboards.repository.js';

const BASE = '/api/v1/monitoring/dashboards';
/** Viewers read; the other roles build dashboards. Owners and admins change them. */
const WRITE = { roles: ['admin', 'operator', 'monitoring'], services: false } as const;

const WidgetSchema = Type.Object(
  {
    id: Type.Optional(Type.String({ maxLength: 100 })),
    type: Type.String({ minLength: 1, maxLength: 50 }),
    title: Type.Optional(Type.String({ maxLength: 200 })),
    metric: Type.Optional(Type.String({ maxLength: 200 })),
    query: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    options: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

const DashboardBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 2000 }), Type.Null()])),
    widgets: Type.Array(WidgetSchema, { maxItems: 100, default: [] }),
    layout: Type.Record(Type.String(), Type.Unknown(), { default: {} }),
    shared: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);

const DashboardSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  widgets: Type.Array(Type.Unknown()),
  layout: Type.Record(Type.String(), Type.Unknown()),
  owner: Type.String(),
  shared: Type.Boolean(),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

const json = (row: DashboardRow) => ({ ...row, created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString() });
const isAdmin = (principal: Principal) => principal.kind === 'user' && principal.roles.includes('admin');

/** A dashboard the caller may not see does not exist for them (404, not 403). */
async function visible(tx: Tx, principal: Principal, id: string): Promise<DashboardRow> {
  const row = await findDashboard(tx, principal.tenantId, id);
  if (row === undefined || !(row.shared || row.owner === actorOf(principal) || isAdmin(principal))) throw new NotFoundError('Dashboard', id);
  return row;
}

async function changeable(tx: Tx, principal: Principal, id: string): Promise<DashboardRow> {
  const row = await visible(tx, principal, id);
  if (row.owner !== actorOf(principal) && !isAdmin(principal)) throw new ForbiddenError('Only the owner or an admin may change this dashboard');
  return row;
}

export function dashboardsRoutes(container: Container) {
  const { db, clock } = container;
  return async (app: App) => {
    app.post(BASE, { preHandler: container.auth.require(WRITE), schema: { tags: ['dashboards'], summary: 'Create a custom dashboard', body: DashboardBody, response: { 201: DashboardSchema } } }, async (request, reply) => {
      const principal = principalOf(request);
      const { tenantId } = principal;
      const row = await db.withTenant(tenantId, async (tx) => {
        await assertWithinQuota(tx, container.limits, { limit: 'dashboards', tenantId, what: 'dashboards', count: () => countDashboards(tx, tenantId) });
        return insertDashboard(tx, tenantId, actorOf(principal), { ...request.body, description: request.body.description ?? null }, clock.now());
      });
      if (row === undefined) throw new NotFoundError('Dashboard');
      return reply.status(201).send(json(row));
    });

    app.get(
      BASE,
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['dashboards'],
          summary: 'Own and shared dashboards (admins see all of the tenant)',
          querystring: Type.Object(OffsetPageQuery),
          response: { 200: OffsetPageSchema(DashboardSchema) },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const { limit, offset } = request.query;
        const { rows, total } = await db.withTenant(principal.tenantId, (tx) => visibleDashboards(tx, principal.tenantId, actorOf(principal), isAdmin(principal), limit, offset));
        return { data: rows.map(json), pagination: { limit, offset, total } };
      },
    );

    app.get(`${BASE}/:id`, { preHandler: container.auth.require(READ), schema: { tags: ['dashboards'], summary: 'One dashboard', params: IdParams, response: { 200: DashboardSchema } } }, async (request) => {
      const principal = principalOf(request);
      return json(await db.withTenant(principal.tenantId, (tx) => visible(tx, principal, request.params.id)));
    });

    app.put(
      `${BASE}/:id`,
      { preHandler: container.auth.require(WRITE), schema: { tags: ['dashboards'], summary: 'Replace a dashboard (owner or admin)', params: IdParams, body: DashboardBody, response: { 200: DashboardSchema } } },
      async (request) => {
        const principal = principalOf(request);
        const row = await db.withTenant(principal.tenantId, async (tx) => {
          await changeable(tx, principal, request.params.id);
          return replaceDashboard(tx, principal.tenantId, request.params.id, { ...request.body, description: request.body.description ?? null }, clock.now());
        });
        if (row === undefined) throw new NotFoundError('Dashboard', request.params.id);
        return json(row);
      },
    );

    app.delete(`${BASE}/:id`, { preHandler: container.auth.require(WRITE), schema: { tags: ['dashboards'], summary: 'Delete a dashboard (owner or admin)', params: IdParams, response: { 204: Type.Null() } } }, async (request, reply) => {
      const principal = principalOf(request);
      await db.withTenant(principal.tenantId, async (tx) => {
        await changeable(tx, principal, request.params.id);
        await deleteDashboard(tx, principal.tenantId, request.params.id);
      });
      return reply.status(204).send(null);
    });
  };
}
