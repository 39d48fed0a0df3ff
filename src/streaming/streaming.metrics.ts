import { Counter, Gauge, type Registry } from 'prom-client';

/** Consumer and stream-processor figures on /metrics. */
export function createStreamingMetrics(registry: Registry, openWindows: () => number) {
  return {
    consumed: new Counter({
      name: 'monitoring_stream_messages_total',
      help: 'Messages from other services handled by the consumers, by topic and outcome (ingested, stored, duplicate, raised, resolved, logged, own, invalid, rate_limited: parked over a tenant limit)',
      labelNames: ['topic', 'outcome'],
      registers: [registry],
    }),
    patternAlerts: new Counter({ name: 'monitoring_stream_pattern_alerts_total', help: 'Pattern alerts raised by the stream processor, by pattern', labelNames: ['pattern'], registers: [registry] }),
    windows: new Gauge({
      name: 'monitoring_stream_open_windows',
      help: 'One-minute windows held by the stream processor (at most the last 5 minutes)',
      registers: [registry],
      collect() {
        this.set(openWindows());
      },
    }),
  };
}

export type StreamingMetrics = ReturnType<typeof createStreamingMetrics>;
