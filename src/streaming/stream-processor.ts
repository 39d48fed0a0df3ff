import type { Logger } from 'pino';
import type { AlertInput } from '../alerts/alert-store.js';
import type { Clock } from '../platform/clock.js';
import type { UnitFailed } from '../platform/scheduler.js';
import type { StreamingMetrics } from './streaming.metrics.js';

export const WINDOW_MS = 60_000;
/** Windows older than this are discarded. */
export const RETAIN_MS = 5 * WINDOW_MS;

export interface PatternAlerts {
  raise(tenantId: string, input: AlertInput): Promise<unknown>;
  resolve(tenantId: string, where: { fingerprint: string }, by: string): Promise<unknown>;
}

export interface StreamProcessorOptions {
  clock: Clock;
  logger: Logger;
  alerts: PatternAlerts;
  highFrequencyThreshold: number;
  fraudSpikeThreshold: number;
  metrics?: () => StreamingMetrics;
}

export interface WindowCounts {
  start: string;
  metrics: Record<string, Record<string, number>>;
  fraud: Record<string, number>;
}

interface Window {
  start: number;
  /** tenant -> metric -> samples */
  metrics: Map<string, Map<string, number>>;
  /** tenant -> fraud events */
  fraud: Map<string, number>;
}

interface Raised {
  tenantId: string;
  fingerprint: string;
  windowStart: number;
  count: (window: Window | undefined) => number;
}

const SOURCE = 'stream-processor';

/**
 * One-minute tumbling windows on this instance's clock: samples per metric and fraud events,
 * per tenant. Crossing a threshold inside a window raises a pattern alert at once; an alert
 * whose pattern stayed under the threshold for a whole window is resolved; windows older than
 * five minutes are discarded on each tick.
 */
export function createStreamProcessor(options: StreamProcessorOptions) {
  const windows = new Map<number, Window>();
  const raised = new Map<string, Raised>();

  const current = (atMs = options.clock.nowMs()): Window => {
    const start = Math.floor(atMs / WINDOW_MS) * WINDOW_MS;
    let window = windows.get(start);
    if (window === undefined) {
      window = { start, metrics: new Map(), fraud: new Map() };
      windows.set(start, window);
    }
    return window;
  };

  const raise = (tenantId: string, pattern: string, fingerprint: string, input: Omit<AlertInput, 'fingerprint' | 'type' | 'source'>, window: Window, count: Raised['count']) => {
    raised.set(`${tenantId}\n${fingerprint}`, { tenantId, fingerprint, windowStart: window.start, count });
    options.metrics?.().patternAlerts.inc({ pattern });
    options.alerts
      .raise(tenantId, { ...input, fingerprint, type: 'pattern', source: SOURCE, labels: { ...input.labels, pattern } })
      .catch((error: unknown) => options.logger.error({ err: error, tenantId, pattern }, 'pattern alert failed'));
  };

  return {
    /**
     * Counts one commit's samples in the window of `committedAt` (they reach the processor a little
     * after the commit, from the ingest dispatch queue); more than the threshold of one metric in a
     * minute raises an alert.
     */
    recordSamples(tenantId: string, names: readonly string[], committedAt?: Date): void {
      const window = current(committedAt?.getTime());
      const perMetric = window.metrics.get(tenantId) ?? new Map<string, number>();
      window.metrics.set(tenantId, perMetric);
      for (const name of names) {
        const before = perMetric.get(name) ?? 0;
        const after = before + 1;
        perMetric.set(name, after);
        if (before <= options.highFrequencyThreshold && after > options.highFrequencyThreshold) {
          const minute = new Date(window.start).toISOString();
          raise(tenantId, 'high_frequency', `pattern:high_frequency:${name}`, {
            name: 'HighFrequencyMetric',
            severity: 'warning',
            message: `${name}: more than ${options.highFrequencyThreshold} samples in the minute from ${minute}`,
            labels: { metric_name: name, window_start: minute },
            value: after,
          }, window, (w) => w?.metrics.get(tenantId)?.get(name) ?? 0);
        }
      }
    },
    /** Counts fraud events; more than the threshold in a minute raises an alert. */
    recordFraud(tenantId: string, events = 1): void {
      const window = current();
      const before = window.fraud.get(tenantId) ?? 0;
      const after = before + events;
      window.fraud.set(tenantId, after);
      if (before <= options.fraudSpikeThreshold && after > options.fraudSpikeThreshold) {
        const minute = new Date(window.start).toISOString();
        raise(tenantId, 'fraud_spike', 'pattern:fraud_spike', {
          name: 'FraudEventSpike',
          severity: 'critical',
          message: `more than ${options.fraudSpikeThreshold} fraud events in the minute from ${minute}`,
          labels: { window_start: minute },
          value: after,
        }, window, (w) => w?.fraud.get(tenantId) ?? 0);
      }
    },
    /** Discards old windows and resolves patterns that stayed quiet for a whole window (a tenant's failed resolve is retried next tick). */
    async tick(onUnitFailure?: UnitFailed): Promise<{ discarded: number; resolved: number }> {
      const now = options.clock.nowMs();
      const currentStart = Math.floor(now / WINDOW_MS) * WINDOW_MS;
      let discarded = 0;
      for (const start of [...windows.keys()]) {
        if (start < now - RETAIN_MS) {
          windows.delete(start);
          discarded += 1;
        }
      }
      let resolved = 0;
      const previous = windows.get(currentStart - WINDOW_MS);
      for (const [id, entry] of raised) {
        if (entry.windowStart >= currentStart - WINDOW_MS) continue;
        const quiet = entry.count(previous) <= (entry.fingerprint === 'pattern:fraud_spike' ? options.fraudSpikeThreshold : options.highFrequencyThreshold);
        if (!quiet) continue;
        try {
          await options.alerts.resolve(entry.tenantId, { fingerprint: entry.fingerprint }, SOURCE);
          raised.delete(id);
          resolved += 1;
        } catch (error) {
          options.logger.error({ err: error, tenantId: entry.tenantId, fingerprint: entry.fingerprint }, 'pattern resolve failed; retried next tick');
          onUnitFailure?.({ tenantId: entry.tenantId, fingerprint: entry.fingerprint }, error);
        }
      }
      return { discarded, resolved };
    },
    /** The windows held now, oldest first (inspection and tests). */
    snapshot(): WindowCounts[] {
      return [...windows.values()]
        .sort((a, b) => a.start - b.start)
        .map((window) => ({
          start: new Date(window.start).toISOString(),
          metrics: Object.fromEntries([...window.metrics].map(([tenant, counts]) => [tenant, Object.fromEntries(counts)])),
          fraud: Object.fromEntries(window.fraud),
        }));
    },
    windowCount: () => windows.size,
  };
}

export type StreamProcessor = ReturnType<typeof createStreamProcessor>;
