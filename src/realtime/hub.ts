import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { AppError } from '../errors.js';
import type { LimitName } from '../limits/index.js';
import type { Clock } from '../platform/clock.js';
import { Connection, type ConnectionLimits, type VerifiedToken } from './connection.js';
import { CloseCodes, type AlertOut, type MetricSampleOut } from './messages.js';
import type { Registry } from 'prom-client';
import { createRealtimeMetrics, type RealtimeMetrics } from './realtime.metrics.js';

export interface HubOptions {
  clock: Clock;
  logger: Logger;
  registry: Registry;
  limits: ConnectionLimits & { staleTimeoutMs: number; connectionsPerTenant: number; connectionsPerPrincipal: number };
  verifyToken: (token: string) => Promise<VerifiedToken>;
  /** Counts a refusal by a tenant limit and gives the error to send (RATE_LIMITED). */
  refuse(tenantId: string | undefined, limit: LimitName, message: string, details: { current: number; requested?: number }): AppError;
}

/** What the tenant limits read of this instance's connections, per tenant. */
export interface HubUsage {
  connections(tenantIds: readonly string[]): Map<string, number>;
  /** The busiest user of each tenant. */
  connectionsPerPrincipal(tenantIds: readonly string[]): Map<string, number>;
  /** The connection of each tenant with the most subscriptions. */
  subscriptionsPerConnection(tenantIds: readonly string[]): Map<string, number>;
}

export interface Hub {
  readonly metrics: RealtimeMetrics;
  /** Takes over an upgraded socket; `token` is the one offered at connect, if any. */
  accept(socket: WebSocket, token: string | undefined): Connection;
  /** Sends one commit's samples to the tenant's connections subscribed to them. */
  broadcastMetricUpdate(tenantId: string, committedAt: string, samples: readonly MetricSampleOut[]): void;
  /** Sends an alert change to the tenant's connections subscribed to `alerts` or `*`. */
  broadcastAlert(tenantId: string, kind: string, alert: AlertOut): void;
  /** Heartbeat: pings live connections, closes those silent past the stale timeout or with an expired token. */
  sweep(): { pinged: number; closed: number };
  connectionCount(): number;
  /** The tenant has a connection on this instance (else its commits need no message here). */
  hasTenant(tenantId: string): boolean;
  readonly usage: HubUsage;
  /** Closes every connection (server shutdown). */
  closeAll(): Promise<void>;
}

/** The WebSocket hub of this instance: connections by tenant and the fan-out to them. */
export function createHub(options: HubOptions): Hub {
  const connections = new Set<Connection>();
  const byTenant = new Map<string, Set<Connection>>();
  /** Authenticated connections per tenant and token subject (the per-principal limit). */
  const byPrincipal = new Map<string, number>();
  const principalKey = (connection: Connection) => `${connection.tenantId ?? ''}\u0000${connection.principal?.subject ?? ''}`;
  const metrics = createRealtimeMetrics(options.registry, {
    connections: () => connections.size,
    authenticated: () => [...byTenant.values()].reduce((sum, set) => sum + set.size, 0),
    subscriptions: () => [...connections].reduce((sum, connection) => sum + connection.subscriptions.size, 0),
  });

  const tenantSet = (tenantId: string): Set<Connection> => {
    let set = byTenant.get(tenantId);
    if (set === undefined) {
      set = new Set();
      byTenant.set(tenantId, set);
    }
    return set;
  };

  const deps = {
    clock: options.clock,
    logger: options.logger,
    metrics,
    limits: options.limits,
    verifyToken: options.verifyToken,
    refuse: (tenantId: string | undefined, limit: LimitName, message: string, details: { current: number; requested?: number }) => options.refuse(tenantId, limit, message, details),
    onAuthenticated(connection: Connection): boolean {
      const tenantId = connection.tenantId;
      if (tenantId === undefined) return false;
      const tenant = tenantSet(tenantId);
      const ofPrincipal = byPrincipal.get(principalKey(connection)) ?? 0;
      const refusal =
        tenant.size >= options.limits.connectionsPerTenant
          ? options.refuse(tenantId, 'ws_connections', `At most ${options.limits.connectionsPerTenant} WebSockets per tenant on this instance`, { current: tenant.size })
          : ofPrincipal >= options.limits.connectionsPerPrincipal
            ? options.refuse(tenantId, 'ws_connections_per_principal', `At most ${options.limits.connectionsPerPrincipal} WebSockets per user on this instance`, { current: ofPrincipal })
            : undefined;
      if (refusal !== undefined) {
        if (tenant.size === 0) byTenant.delete(tenantId);
        connection.refuseConnection(refusal);
        return false;
      }
      tenant.add(connection);
      byPrincipal.set(principalKey(connection), ofPrincipal + 1);
      return true;
    },
    onClosed(connection: Connection) {
      connections.delete(connection);
      const tenantId = connection.tenantId;
      if (tenantId === undefined) return;
      const set = byTenant.get(tenantId);
      // A connection refused by a limit was never counted.
      if (set?.delete(connection) !== true) return;
      if (set.size === 0) byTenant.delete(tenantId);
      const key = principalKey(connection);
      const left = (byPrincipal.get(key) ?? 1) - 1;
      if (left > 0) byPrincipal.set(key, left);
      else byPrincipal.delete(key);
    },
  };

  return {
    metrics,
    accept(socket, token) {
      const connection = new Connection(socket, deps);
      connections.add(connection);
      metrics.connectionsOpened.inc();
      connection.start(token);
      return connection;
    },
    broadcastMetricUpdate(tenantId, committedAt, samples) {
      const targets = byTenant.get(tenantId);
      if (targets === undefined || samples.length === 0) return;
      // Connections with the same selection share one serialized message.
      const serialized = new Map<string, Buffer>();
      for (const connection of targets) {
        const selected = samples.filter((sample) => connection.wantsMetric(sample.name));
        if (selected.length === 0) continue;
        const key = selected.length === samples.length ? '*' : selected.map((sample) => sample.name).join('\n');
        let text = serialized.get(key);
        if (text === undefined) {
          text = Buffer.from(JSON.stringify({ type: 'metric', committed_at: committedAt, samples: selected }));
          serialized.set(key, text);
        }
        connection.send(text, 'metric');
      }
    },
    broadcastAlert(tenantId, kind, alert) {
      const targets = byTenant.get(tenantId);
      if (targets === undefined) return;
      const text = Buffer.from(JSON.stringify({ type: 'alert', kind, alert }));
      for (const connection of targets) if (connection.wantsAlerts()) connection.send(text, 'alert');
    },
    sweep() {
      const now = options.clock.nowMs();
      let pinged = 0;
      let closed = 0;
      for (const connection of connections) {
        if (!connection.isOpen) continue;
        if (connection.expiresAtMs !== null && now >= connection.expiresAtMs) {
          connection.close(CloseCodes.UNAUTHENTICATED, 'token expired', 'token_expired');
          closed += 1;
        } else if (now - connection.lastSeenMs > options.limits.staleTimeoutMs) {
          connection.close(CloseCodes.STALE, `no frame for ${options.limits.staleTimeoutMs} ms`, 'stale');
          closed += 1;
        } else {
          connection.ping();
          pinged += 1;
        }
      }
      return { pinged, closed };
    },
    connectionCount: () => connections.size,
    hasTenant: (tenantId) => byTenant.has(tenantId),
    usage: {
      connections: (tenantIds) => new Map(tenantIds.map((id) => [id, byTenant.get(id)?.size ?? 0])),
      connectionsPerPrincipal: (tenantIds) => {
        const wanted = new Set(tenantIds);
        const busiest = new Map<string, number>();
        for (const [key, count] of byPrincipal) {
          const tenantId = key.slice(0, key.indexOf('\u0000'));
          if (wanted.has(tenantId)) busiest.set(tenantId, Math.max(busiest.get(tenantId) ?? 0, count));
        }
        return busiest;
      },
      subscriptionsPerConnection: (tenantIds) =>
        new Map(tenantIds.map((id) => [id, Math.max(0, ...[...(byTenant.get(id) ?? [])].map((connection) => connection.subscriptions.size))])),
    },
    async closeAll() {
      const open = [...connections];
      const closedAll = Promise.all(open.map((connection) => new Promise<void>((resolve) => connection.onceClosed(resolve))));
      for (const connection of open) connection.close(CloseCodes.GOING_AWAY, 'server shutting down', 'shutdown');
      await closedAll;
    },
  };
}
