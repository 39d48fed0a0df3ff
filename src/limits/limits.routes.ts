import { Type } from '@sinclair/typebox';
import { principalOf, READ, type Authenticator } from '../auth/index.js';
import type { App } from '../platform/http/types.js';
import { clientAddressKey } from '../platform/http/rate-limit.js';
import { LIMIT_NAMES, type TenantLimits } from './tenant-limits.js';

const LimitSchema = Type.Object({
  limit: Type.Union(LIMIT_NAMES.map((name) => Type.Literal(name))),
  value: Type.Integer(),
  usage: Type.Union([Type.Number(), Type.Null()], { description: 'current usage of the caller tenant (requests_per_ip: of the calling address); null for a pure rate' }),
  scope: Type.Union([Type.Literal('cluster'), Type.Literal('instance')], { description: 'cluster: counted for all instances together; instance: each instance counts (and enforces) on its own' }),
  description: Type.String(),
});

/** `GET /api/v1/monitoring/limits`: every limit with its value and the caller tenant's usage. */
export function limitsRoutes(deps: { auth: Authenticator; limits: TenantLimits }) {
  return async (app: App) => {
    app.get(
      '/api/v1/monitoring/limits',
      {
        preHandler: deps.auth.require(READ),
        schema: {
          tags: ['limits'],
          summary: "The tenant limits (429 RATE_LIMITED beyond them) with the caller tenant's current usage",
          response: { 200: Type.Object({ tenant_id: Type.String(), data: Type.Array(LimitSchema) }) },
        },
      },
      async (request) => {
        const { tenantId } = principalOf(request);
        return { tenant_id: tenantId, data: await deps.limits.usage(tenantId, { ip: clientAddressKey(request.ip) }) };
      },
    );
  };
}
