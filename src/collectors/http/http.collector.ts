import { hostname } from 'node:os';
import { nearestRank } from '../../platform/stats.js';
import type { HttpObservation, SampleInput } from '../../metrics/index.js';
import type { Tx } from '../../platform/db/index.js';

interface Buffered extends HttpObservation {
  at: Date;
}

export interface HttpCollector {
  /** Called for every finished request (from the HTTP instrumentation hook). */
  observe(observation: HttpObservation): void;
  /** Takes what was buffered since the last drain. */
  drain(): { requests: Buffered[]; dropped: number };
}

/** A bounded buffer: beyond `max` requests per interval the rest are counted, not kept. */
export function createHttpCollector(options: { max: number; now: () => Date }): HttpCollector {
  let requests: Buffered[] = [];
  let dropped = 0;
  return {
    observe(observation) {
      if (requests.length >= options.max) {
        dropped += 1;
        return;
      }
      requests.push({ ...observation, at: options.now() });
    },
    drain() {
      const taken = { requests, dropped };
      requests = [];
      dropped = 0;
      return taken;
    },
  };
}

/**
 * Per route and method over the interval: `http_response_time_ms` (mean, what the default
 * rule watches), `http_response_time_p95_ms`, `http_request_count` and `http_server_error_count`.
 */
export function summariseRequests(requests: readonly Buffered[], options: { service: string; at: Date; dropped: number; instance?: string }): SampleInput[] {
  const instance = options.instance ?? hostname();
  const groups = new Map<string, { method: string; route: string; durations: number[]; errors: number }>();
  for (const request of requests) {
    const key = `${request.method} ${request.route}`;
    let group = groups.get(key);
    if (group === undefined) {
      group = { method: request.method, route: request.route, durations: [], errors: 0 };
      groups.set(key, group);
    }
    group.durations.push(request.durationMs);
    if (request.statusCode >= 500) group.errors += 1;
  }
  const timestamp = options.at.toISOString();
  const samples: SampleInput[] = [];
  for (const group of groups.values()) {
    const sorted = [...group.durations].sort((a, b) => a - b);
    const labels = { instance, method: group.method, route: group.route };
    const mean = sorted.reduce((sum, value) => sum + value, 0) / sorted.length;
    samples.push(
      { name: 'http_response_time_ms', service: options.service, value: mean, labels, timestamp },
      { name: 'http_response_time_p95_ms', service: options.service, value: nearestRank(sorted, 0.95), labels, timestamp },
      { name: 'http_request_count', service: options.service, value: sorted.length, labels, timestamp },
      { name: 'http_server_error_count', service: options.service, value: group.errors, labels, timestamp },
    );
  }
  if (options.dropped > 0) samples.push({ name: 'http_collector_dropped_count', service: options.service, value: options.dropped, labels: { instance }, timestamp });
  return samples;
}

/** Every request as a row of performance_metrics, in one statement. */
export async function insertPerformanceRows(tx: Tx, tenantId: string, service: string, requests: readonly Buffered[]): Promise<number> {
  if (requests.length === 0) return 0;
  const result = await tx.query(
    `INSERT INTO performance_metrics (tenant_id, service_name, endpoint, method, response_time_ms, status_code, "timestamp")
     SELECT $1::uuid, $2, endpoint, method, ms, status, at
     FROM unnest($3::text[], $4::text[], $5::float8[], $6::int[], $7::timestamptz[]) AS r(endpoint, method, ms, status, at)`,
    [tenantId, service, requests.map((r) => r.route), requests.map((r) => r.method), requests.map((r) => r.durationMs), requests.map((r) => r.statusCode), requests.map((r) => r.at.toISOString())],
  );
  return result.rowCount;
}
