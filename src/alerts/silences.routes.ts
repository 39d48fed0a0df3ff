import { Type } from '@sinclair/typebox';
import { actorOf, principalOf, READ } from '../auth/index.js';
import type { Container } from '../container.js';
import { NotFoundError, ValidationError } from '../errors.js';
import { OffsetPageQuery, OffsetPageSchema } from '../platform/http/pagination.js';
import type { App } from '../platform/http/types.js';
import { compileMatchers, MatcherSchema } from './matchers.js';
import { assertWithinQuota } from '../limits/index.js';
import { countOpenSilences, expireSilence, getSilence, insertSilence, listSilences, silenceState, updateSilence, type SilenceRow } from './silences.repository.js';

const ACT = { roles: ['admin', 'operator'], services: false, scope: 'alerts' } as const;
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const SilenceBody = Type.Object(
  {
    matchers: Type.Array(MatcherSchema, { minItems: 1, maxItems: 20 }),
    starts_at: Type.Optional(Type.String({ format: 'date-time', description: 'default now' })),
    ends_at: Type.String({ format: 'date-time', description: 'after starts_at and in the future', examples: ['2030-01-01T00:00:00Z'] }),
    comment: Type.String({ minLength: 1, maxLength: 2000 }),
  },
  { additionalProperties: false },
);

const SilenceSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  matchers: Type.Array(MatcherSchema),
  starts_at: Type.String({ format: 'date-time' }),
  ends_at: Type.String({ format: 'date-time' }),
  created_by: Type.String(),
  comment: Type.String(),
  state: Type.String({ description: 'pending | active | expired' }),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

export function silencesRoutes(container: Container) {
  const { db, clock } = container;
  const toJson = (row: SilenceRow) => ({
    id: row.id, matchers: row.matchers, starts_at: row.starts_at.toISOString(), ends_at: row.ends_at.toISOString(), created_by: row.created_by, comment: row.comment,
    state: silenceState(row, clock.now()), created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString(),
  });
  const parse = (body: { matchers: SilenceRow['matchers']; starts_at?: string; ends_at: string; comment: string }) => {
    compileMatchers(body.matchers, 'matchers');
    const startsAt = body.starts_at === undefined ? clock.now() : new Date(body.starts_at);
    const endsAt = new Date(body.ends_at);
    if (endsAt.getTime() <= startsAt.getTime()) throw new ValidationError('ends_at must be after starts_at', { field: 'ends_at' });
    if (endsAt.getTime() <= clock.nowMs()) throw new ValidationError('ends_at is in the past', { field: 'ends_at' });
    return { matchers: body.matchers, starts_at: startsAt, ends_at: endsAt, comment: body.comment };
  };

  return async (app: App) => {
    app.get(
      '/api/v1/monitoring/alerts/silences',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['silences'],
          summary: 'Silences, latest ending first',
          querystring: Type.Object({
            state: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('active'), Type.Literal('expired')])),
            ...OffsetPageQuery,
          }),
          response: { 200: OffsetPageSchema(SilenceSchema) },
        },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        const { rows, total } = await db.withTenant(tenantId, (tx) => listSilences(tx, tenantId, { ...request.query, now: clock.now() }));
        return { data: rows.map(toJson), pagination: { limit: request.query.limit, offset: request.query.offset, total } };
      },
    );

    app.get(
      '/api/v1/monitoring/alerts/silences/:id',
      { preHandler: container.auth.require(READ), schema: { tags: ['silences'], summary: 'One silence', params: IdParams, response: { 200: Type.Object({ data: SilenceSchema }) } } },
      async (request) => {
        const { tenantId } = principalOf(request);
        const row = await db.withTenant(tenantId, (tx) => getSilence(tx, tenantId, request.params.id));
        if (row === undefined) throw new NotFoundError('Silence', request.params.id);
        return { data: toJson(row) };
      },
    );

    app.post(
      '/api/v1/monitoring/alerts/silences',
      {
        preHandler: container.auth.require(ACT),
        schema: { tags: ['silences'], summary: 'Mute notifications of matching alerts between starts_at and ends_at (alerts keep firing)', body: SilenceBody, response: { 201: Type.Object({ data: SilenceSchema }) } },
      },
      async (request, reply) => {
        const principal = principalOf(request);
        const values = parse(request.body);
        const { tenantId } = principal;
        const row = await db.withTenant(tenantId, async (tx) => {
          await assertWithinQuota(tx, container.limits, { limit: 'silences', tenantId, what: 'pending or active silences', count: () => countOpenSilences(tx, tenantId, clock.now()) });
          return insertSilence(tx, tenantId, { ...values, created_by: actorOf(principal) }, clock.now());
        });
        return reply.status(201).send({ data: toJson(row) });
      },
    );

    app.put(
      '/api/v1/monitoring/alerts/silences/:id',
      { preHandler: container.auth.require(ACT), schema: { tags: ['silences'], summary: 'Change a silence', params: IdParams, body: SilenceBody, response: { 200: Type.Object({ data: SilenceSchema }) } } },
      async (request) => {
        const { tenantId } = principalOf(request);
        const values = parse(request.body);
        const row = await db.withTenant(tenantId, (tx) => updateSilence(tx, tenantId, request.params.id, values, clock.now()));
        if (row === undefined) throw new NotFoundError('Silence', request.params.id);
        return { data: toJson(row) };
      },
    );

    app.delete(
      '/api/v1/monitoring/alerts/silences/:id',
      { preHandler: container.auth.require(ACT), schema: { tags: ['silences'], summary: 'Expire a silence now (the record is kept)', params: IdParams, response: { 200: Type.Object({ data: SilenceSchema }) } } },
      async (request) => {
        const { tenantId } = principalOf(request);
        const row = await db.withTenant(tenantId, (tx) => expireSilence(tx, tenantId, request.params.id, clock.now()));
        if (row === undefined) throw new NotFoundError('Silence', request.params.id);
        return { data: toJson(row) };
      },
    );
  };
}
