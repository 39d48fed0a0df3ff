import { Type } from '@sinclair/typebox';
import type { App } from '../platform/http/types.js';
import { principalOf, type Authenticator } from './authenticate.js';
import { actorOf } from './principal.js';
import type { ApiKeys } from './api-keys.service.js';
import { API_KEY_SCOPES } from './principal.js';

/** Tenant admins, or a signed service acting for the tenant (the operator CLI); never an API key. */
const MANAGE = { roles: ['admin'], services: true } as const;
const PREFIX = '/api/v1/monitoring/api-keys';
const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });
const ScopeSchema = Type.Union(API_KEY_SCOPES.map((scope) => Type.Literal(scope)), { description: 'ingest: push samples (JSON, remote_write); read: every read endpoint; alerts: acknowledge, resolve and silence' });
const CreateBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f]+$', examples: ['prometheus-eu-1'] }),
    scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: API_KEY_SCOPES.length, uniqueItems: true }),
    expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'default: never; a key can be revoked at any time' })),
  },
  { additionalProperties: false },
);
const KeySchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  name: Type.String(),
  prefix: Type.String({ description: 'the first characters of the key, to tell keys apart' }),
  scopes: Type.Array(ScopeSchema),
  state: Type.Union([Type.Literal('active'), Type.Literal('revoked'), Type.Literal('expired')]),
  created_by: Type.String(),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  revoked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  last_used_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'written at most once a minute per key' }),
});
const Created = Type.Object({ data: KeySchema, key: Type.String({ description: 'the key itself, shown this once: only its hash is kept' }) });

/** API keys of the caller's tenant: created (shown once), listed, revoked and rotated. */
export function apiKeyRoutes(deps: { auth: Authenticator; apiKeys: ApiKeys }) {
  return async (app: App) => {
    app.post(
      PREFIX,
      { preHandler: deps.auth.require(MANAGE), schema: { tags: ['api keys'], summary: 'Create an API key; the response is the only time the key is shown', body: CreateBody, response: { 201: Created } } },
      async (request, reply) => {
        const principal = principalOf(request);
        const { name, scopes, expires_at: expiresAt } = request.body;
        const created = await deps.apiKeys.create(principal.tenantId, actorOf(principal), { name, scopes, expiresAt: expiresAt === undefined ? undefined : new Date(expiresAt) });
        return reply.status(201).send({ data: created.view, key: created.key });
      },
    );
    app.get(
      PREFIX,
      { preHandler: deps.auth.require(MANAGE), schema: { tags: ['api keys'], summary: "The tenant's API keys, newest first (never the keys themselves)", response: { 200: Type.Object({ data: Type.Array(KeySchema) }) } } },
      async (request) => ({ data: await deps.apiKeys.list(principalOf(request).tenantId) }),
    );
    app.delete(
      `${PREFIX}/:id`,
      { preHandler: deps.auth.require(MANAGE), schema: { tags: ['api keys'], summary: 'Revoke an API key: refused from then on (other instances: within 10 s)', params: IdParams, response: { 200: Type.Object({ data: KeySchema }) } } },
      async (request) => ({ data: await deps.apiKeys.revoke(principalOf(request).tenantId, request.params.id) }),
    );
    app.post(
      `${PREFIX}/:id/rotate`,
      { preHandler: deps.auth.require(MANAGE), schema: { tags: ['api keys'], summary: 'Replace a key by a new one with the same name, scopes and expiry; the old one is revoked', params: IdParams, response: { 201: Created } } },
      async (request, reply) => {
        const principal = principalOf(request);
        const rotated = await deps.apiKeys.rotate(principal.tenantId, actorOf(principal), request.params.id);
        return reply.status(201).send({ data: rotated.view, key: rotated.key });
      },
    );
  };
}
