import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { Clock } from '../platform/clock.js';
import { Connection, type ConnectionLimits, type VerifiedToken } from './connection.js';
import { CloseCodes, type AlertOut, type MetricSampleOut } from './messages.js';
import type { Registry } from 'prom-client';
import { createRealtimeMetrics, type RealtimeMetrics } from './realtime.metrics.js';

export interface HubOptions {
  clock: Clock;
  logger: Logger;
  registry: Registry;
  limits: ConnectionLimits & { staleTimeoutMs: number };
  verifyToken: (token: string) => Promise<VerifiedToken>;
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
  /** Closes every connection (server shutdown). */
  closeAll(): Promise<void>;
}

/** The WebSocket hub of this instance: connections by tenant and the fan-out to them. */
export function createHub(options: HubOptions): Hub {
  const connections = new Set<Connection>();
  const byTenant = new Map<string, Set<Connection>>();
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
    onAuthenticated(connection: Connection) {
      if (connection.tenantId !== undefined) tenantSet(connection.tenantId).add(connection);
    },
    onClosed(connection: Connection) {
      connections.delete(connection);
      const tenantId = connection.tenantId;
      if (tenantId === undefined) return;
      const set = byTenant.get(tenantId);
      set?.delete(connection);
      if (set?.size === 0) byTenant.delete(tenantId);
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
    async closeAll() {
      const open = [...connections];
      const closedAll = Promise.all(open.map((connection) => new Promise<void>((resolve) => connection.onceClosed(resolve))));
      for (const connection of open) connection.close(CloseCodes.GOING_AWAY, 'server shutting down', 'shutdown');
      await closedAll;
    },
  };
}
