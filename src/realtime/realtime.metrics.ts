import { Counter, Gauge, type Registry } from 'prom-client';

/** WebSocket figures on /metrics. */
export function createRealtimeMetrics(registry: Registry, sizes: { connections: () => number; authenticated: () => number; subscriptions: () => number }) {
  return {
    connections: new Gauge({
      name: 'monitoring_ws_connections',
      help: 'Open WebSocket connections on this instance, by authentication state',
      labelNames: ['state'],
      registers: [registry],
      collect() {
        const authenticated = sizes.authenticated();
        this.set({ state: 'authenticated' }, authenticated);
        this.set({ state: 'pending' }, sizes.connections() - authenticated);
      },
    }),
    subscriptions: new Gauge({
      name: 'monitoring_ws_subscriptions',
      help: 'Subscriptions (metric names, alerts, *) held by open connections on this instance',
      registers: [registry],
      collect() {
        this.set(sizes.subscriptions());
      },
    }),
    connectionsOpened: new Counter({ name: 'monitoring_ws_connections_opened_total', help: 'WebSocket connections accepted', registers: [registry] }),
    connectionsClosed: new Counter({ name: 'monitoring_ws_connections_closed_total', help: 'WebSocket connections closed by the server, by reason', labelNames: ['reason'], registers: [registry] }),
    messagesSent: new Counter({ name: 'monitoring_ws_messages_sent_total', help: 'Messages sent to WebSocket clients, by type', labelNames: ['type'], registers: [registry] }),
    messagesDropped: new Counter({ name: 'monitoring_ws_messages_dropped_total', help: 'Messages not sent to WebSocket clients, by reason', labelNames: ['reason'], registers: [registry] }),
    messagesReceived: new Counter({ name: 'monitoring_ws_messages_received_total', help: 'Client messages received, by action (invalid when unparseable)', labelNames: ['action'], registers: [registry] }),
    fanoutReceived: new Counter({ name: 'monitoring_ws_fanout_received_total', help: 'Updates received from other instances over pub/sub', registers: [registry] }),
    fanoutPublishFailures: new Counter({ name: 'monitoring_ws_fanout_publish_failures_total', help: 'Updates that could not be published to other instances', registers: [registry] }),
  };
}

export type RealtimeMetrics = ReturnType<typeof createRealtimeMetrics>;
