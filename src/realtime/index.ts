import { randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { UserPrincipal } from '../auth/index.js';
import type { Config } from '../config.js';
import type { TenantLimits } from '../limits/index.js';
import type { Ingest } from '../metrics/ingest.js';
import type { Clock } from '../platform/clock.js';
import type { App } from '../platform/http/types.js';
import type { PubSub } from '../platform/pubsub/index.js';
import type { Scheduler } from '../platform/scheduler.js';
import { wireFanout, type AlertSource } from './fanout.js';
import { createHub, type Hub } from './hub.js';
import { realtimeRoutes } from './realtime.routes.js';

export type { Hub } from './hub.js';
export { CloseCodes, type ServerMessage, type ClientMessage } from './messages.js';

export const HEARTBEAT_JOB = 'websocket-heartbeat';

export interface Realtime {
  readonly hub: Hub;
  /** The id this instance stamps on updates it shares with other instances. */
  readonly instanceId: string;
  routes(): (app: App) => Promise<void>;
  close(): Promise<void>;
}

export interface RealtimeDeps {
  config: Config;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  scheduler: Scheduler;
  ingest: Ingest;
  alerts: AlertSource;
  pubsub: PubSub;
  /** WebSockets per tenant and per user, subscriptions per connection: refusals counted, usage shown. */
  limits: TenantLimits;
  verifyUserToken(token: string): Promise<UserPrincipal>;
}

/** The WebSocket hub, its fan-out from ingest and alerting (and other instances) and its heartbeat job. */
export async function createRealtime(deps: RealtimeDeps): Promise<Realtime> {
  const { config } = deps;
  const instanceId = randomUUID();
  const hub = createHub({
    clock: deps.clock,
    logger: deps.logger.child({ component: 'realtime' }),
    registry: deps.registry,
    limits: {
      authTimeoutMs: config.WS_AUTH_TIMEOUT_MS,
      staleTimeoutMs: config.WS_STALE_TIMEOUT_MS,
      maxBufferedBytes: config.WS_MAX_BUFFERED_BYTES,
      messageRateLimit: config.WS_MESSAGE_RATE_LIMIT,
      maxSubscriptions: config.WS_MAX_SUBSCRIPTIONS,
      closeGraceMs: config.WS_CLOSE_GRACE_MS,
      connectionsPerTenant: config.LIMIT_WS_CONNECTIONS_PER_TENANT,
      connectionsPerPrincipal: config.LIMIT_WS_CONNECTIONS_PER_PRINCIPAL,
    },
    refuse: (tenantId, limit, message, details) => deps.limits.refuse(tenantId, limit, message, details),
    async verifyToken(token) {
      const principal = await deps.verifyUserToken(token);
      const exp = decodeJwt(token).exp;
      return { principal, expiresAtMs: typeof exp === 'number' ? exp * 1000 : null };
    },
  });
  // Connections are counted per instance: a client spread over N instances may hold N times the limit.
  deps.limits.provideUsage('ws_connections', 'instance', async (tenantIds) => hub.usage.connections(tenantIds));
  deps.limits.provideUsage('ws_connections_per_principal', 'instance', async (tenantIds) => hub.usage.connectionsPerPrincipal(tenantIds));
  deps.limits.provideUsage('ws_subscriptions_per_connection', 'instance', async (tenantIds) => hub.usage.subscriptionsPerConnection(tenantIds));
  const unwire = await wireFanout({ hub, ingest: deps.ingest, alerts: deps.alerts, pubsub: deps.pubsub, instanceId, logger: deps.logger, metrics: hub.metrics });

  deps.scheduler.add({
    name: HEARTBEAT_JOB,
    intervalMs: config.WS_HEARTBEAT_INTERVAL_MS,
    // Every instance pings its own connections.
    clusterWide: false,
    run: async () => {
      hub.sweep();
    },
  });

  let closed = false;
  return {
    hub,
    instanceId,
    routes: () => realtimeRoutes({ hub, maxMessageBytes: config.WS_MAX_MESSAGE_BYTES }),
    async close() {
      if (closed) return;
      closed = true;
      await unwire();
      await hub.closeAll();
    },
  };
}
