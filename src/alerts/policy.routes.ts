import { Type } from '@sinclair/typebox';
import { actorOf, principalOf, READ } from '../auth/index.js';
import type { Container } from '../container.js';
import type { App } from '../platform/http/types.js';
import { loadPolicy, patchPolicy, PolicyPatchSchema, PolicySchema, savePolicy, validatePolicy } from './policy.js';

const ADMIN = { roles: ['admin'], services: false } as const;
const PolicyResponse = Type.Object({ data: PolicySchema, updated_by: Type.Union([Type.String(), Type.Null()]), updated_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]) });

export function policyRoutes(container: Container) {
  const { db, clock, alerting } = container;
  return async (app: App) => {
    app.get(
      '/api/v1/monitoring/alerts/policy',
      { preHandler: container.auth.require(READ), schema: { tags: ['alerts'], summary: 'Notification policy: grouping timers, channels, inhibition, escalation chains', response: { 200: PolicyResponse } } },
      async (request) => {
        const { tenantId } = principalOf(request);
        const stored = await db.withTenant(tenantId, (tx) => loadPolicy(tx, tenantId));
        return { data: stored.policy, updated_by: stored.updatedBy, updated_at: stored.updatedAt === null ? null : stored.updatedAt.toISOString() };
      },
    );

    app.put(
      '/api/v1/monitoring/alerts/policy',
      {
        preHandler: container.auth.require(ADMIN),
        schema: { tags: ['alerts'], summary: 'Replace the whole notification policy (every field is required; PATCH changes some)', body: PolicySchema, response: { 200: PolicyResponse } },
      },
      async (request) => {
        const principal = principalOf(request);
        const policy = validatePolicy(request.body);
        const now = clock.now();
        await db.withTenant(principal.tenantId, (tx) => savePolicy(tx, principal.tenantId, policy, actorOf(principal), now));
        return { data: policy, updated_by: actorOf(principal), updated_at: now.toISOString() };
      },
    );

    app.patch(
      '/api/v1/monitoring/alerts/policy',
      {
        preHandler: container.auth.require(ADMIN),
        schema: {
          tags: ['alerts'],
          summary: 'Change some fields of the notification policy; the others are kept',
          description:
            'Fields sent replace the stored ones (lists whole); within `escalation`, each severity sent replaces its chain and `null` removes it (JSON merge patch, RFC 7396). The merged policy is validated as PUT validates a whole one; on any error nothing changes.',
          body: PolicyPatchSchema,
          response: { 200: PolicyResponse },
        },
      },
      async (request) => {
        const principal = principalOf(request);
        const now = clock.now();
        const policy = await db.withTenant(principal.tenantId, (tx) => patchPolicy(tx, principal.tenantId, request.body, actorOf(principal), now));
        return { data: policy, updated_by: actorOf(principal), updated_at: now.toISOString() };
      },
    );

    app.get(
      '/api/v1/monitoring/alerts/channels',
      {
        preHandler: container.auth.require(READ),
        schema: {
          tags: ['alerts'],
          summary: 'Notification channels of this tenant: whether each can send, whose receiver it uses, and why not',
          response: {
            200: Type.Object({
              data: Type.Array(
                Type.Object({
                  name: Type.String(),
                  configured: Type.Boolean(),
                  source: Type.Union([Type.Literal('tenant'), Type.Literal('environment'), Type.Null()], { description: "tenant: this tenant's receiver; environment: the platform tenant's variables" }),
                  reason: Type.Union([Type.String(), Type.Null()]),
                }),
              ),
            }),
          },
        },
      },
      async (request) => ({ data: await alerting.receivers.status(principalOf(request).tenantId) }),
    );
  };
}
