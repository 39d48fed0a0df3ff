import { Type } from '@sinclair/typebox';
import { principalOf, READ } from '../auth/index.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Clock } from '../platform/clock.js';
import type { Scheduler } from '../platform/scheduler.js';
import type { App } from '../platform/http/types.js';
import type { Authenticator } from '../auth/index.js';
import type { ServiceClient } from './service-client.js';
import type { SourceStatus } from './source-status.js';

const SourceStatusSchema = Type.Object({
  scope: Type.Union([Type.Literal('tenant'), Type.Literal('platform')]),
  collector: Type.String(),
  source: Type.String(),
  status: Type.Union([Type.Literal('ok'), Type.Literal('error'), Type.Literal('not_configured')]),
  reason: Type.Union([Type.String(), Type.Null()]),
  message: Type.Union([Type.String(), Type.Null()]),
  values_recorded: Type.Integer(),
  consecutive_failures: Type.Integer(),
  last_attempt_at: Type.String(),
  last_success_at: Type.Union([Type.String(), Type.Null()]),
});

/** This instance's view of each platform service client (circuit state is per instance). */
const ClientStateSchema = Type.Object({
  service: Type.String(),
  configured: Type.Boolean(),
  circuit: Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half-open')]),
});

const JobOutcomeSchema = Type.Object({ name: Type.String(), status: Type.String(), error: Type.Optional(Type.String()) });

/** Collector status (why a value is missing) and on-demand runs of the collectors. */
export function sourceStatusRoutes(deps: { auth: Authenticator; status: SourceStatus; scheduler: Scheduler; clock: Clock; collectors: readonly string[]; clients: readonly ServiceClient[] }) {
  return async (app: App) => {
    app.get(
      '/api/v1/monitoring/collectors',
      {
        preHandler: deps.auth.require(READ),
        schema: {
          tags: ['collectors'],
          summary: 'Last outcome of every collector source: ok, error (with reason) or not configured',
          response: { 200: Type.Object({ collectors: Type.Array(Type.String()), clients: Type.Array(ClientStateSchema), data: Type.Array(SourceStatusSchema) }) },
        },
      },
      async (request) => ({
        collectors: [...deps.collectors],
        clients: deps.clients.map((client) => ({ service: `${client.name}-service`, configured: client.configured, circuit: client.breakerState() })),
        data: await deps.status.list(principalOf(request).tenantId),
      }),
    );

    app.post(
      '/api/v1/monitoring/collectors/:name/run',
      {
        // Collectors work for the whole platform: the platform tenant's admins and signed services only.
        preHandler: deps.auth.require({ roles: ['admin'], services: true, platform: true }),
        schema: {
          tags: ['collectors'],
          summary: "Run one collector cycle now (platform tenant's admins and signed services)",
          description:
            'Runs even when the scheduler has already run or claimed this cycle (the scheduled run still happens). Never two runs of a collector at once, in the whole cluster: while one is running, 409 CONFLICT with `details.busy_until` (the end of its lease, the latest it can run) and `Retry-After`.',
          params: Type.Object({ name: Type.String({ pattern: '^[a-z][a-z0-9-]{0,63}$' }) }),
          response: { 200: JobOutcomeSchema },
        },
      },
      async (request) => {
        const { name } = request.params;
        if (!deps.collectors.includes(name)) throw new NotFoundError('collector', name);
        const outcome = await deps.scheduler.runManually(name);
        if (outcome.status === 'skipped-busy') {
          const busyUntil = outcome.busyUntil ?? new Date();
          const retryAfterSeconds = Math.max(1, Math.ceil((busyUntil.getTime() - deps.clock.nowMs()) / 1000));
          throw new ConflictError(`Collector ${name} is running; it can run again once that run ends, by ${busyUntil.toISOString()} at the latest`, {
            collector: name,
            busy_until: busyUntil.toISOString(),
            retryAfterSeconds,
          });
        }
        return { name: outcome.name, status: outcome.status, error: outcome.error };
      },
    );
  };
}
