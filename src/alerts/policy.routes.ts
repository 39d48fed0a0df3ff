import { Type } from '@sinclair/typebox';
import { actorOf, principalOf, READ } from '../auth/index.js';
import type { Container } from '../container.js';
import type { App } from '../platform/http/types.js';
import { loadPolicy, PolicySchema, savePolicy, validatePolicy } from './policy.js';

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
      { preHandler: container.auth.require(ADMIN), schema: { tags: ['alerts'], summary: 'Replace the notification policy', body: PolicySchema, response: { 200: PolicyResponse } } },
      async (request) => {
        const principal = principalOf(request);
        const policy = validatePolicy(request.body);
        const now = clock.now();
        await db.withTenant(principal.tenantId, (tx) => savePolicy(tx, principal.tenantId, policy, actorOf(principal), now));
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
