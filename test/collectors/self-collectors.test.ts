import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCpuReader } from '../../src/collectors/system/cpu.collector.js';
import { readDiskUsage } from '../../src/collectors/system/disk.collector.js';
import { createHttpCollector, summariseRequests } from '../../src/collectors/http/http.collector.js';
import { queryShape } from '../../src/metrics/query-timer.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';

const systemTenant = randomUUID();
let t: TestApp;
beforeAll(async () => {
  t = await createTestApp({ env: { SYSTEM_TENANT_ID: systemTenant } });
});
afterAll(async () => t.close());

async function latest(name: string) {
  const result = await t.container.db.withTenant(systemTenant, (tx) =>
    tx.query<{ value: number; labels: Record<string, string>; service_name: string }>(
      'SELECT value, labels, service_name FROM metrics WHERE tenant_id = $1 AND metric_name = $2 ORDER BY "timestamp" DESC, id DESC',
      [systemTenant, name],
    ),
  );
  return result.rows;
}

describe('collectors of this process', () => {
  it('store CPU, memory, heap, external and disk readings under SYSTEM_TENANT_ID through ingest', async () => {
    await t.container.scheduler.runNow('system-collector');
    const cpu = await latest('system_cpu_usage_percent');
    const memory = await latest('system_memory_usage_percent');
    const disk = await latest('system_disk_usage_percent');
    expect(cpu.length).toBe(1);
    expect(memory[0]?.service_name).toBe('monitoring-service');
    expect(memory[0]?.labels['instance']).toEqual(expect.any(String));
    for (const value of [cpu[0]?.value, memory[0]?.value, disk[0]?.value]) {
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThanOrEqual(100);
    }
    expect((await latest('system_memory_heap_used_bytes'))[0]?.value).toBeGreaterThan(1_000_000);
    expect((await latest('system_memory_external_bytes'))[0]?.value).toBeGreaterThan(0);
    expect(disk[0]?.labels['path']).toBe('/');
  });

  it('records every request of this service to performance_metrics and as http_response_time_ms', async () => {
    t.container.selfCollectors.http.drain();
    const headers = await bearer(newTenant(), ['viewer']);
    for (let index = 0; index < 3; index += 1) await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/metrics?limit=1', headers });
    await t.app.inject({ method: 'GET', url: '/api/v1/monitoring/metrics' });
    await t.container.scheduler.runNow('http-collector');

    const rows = await t.container.db.withTenant(systemTenant, (tx) =>
      tx.query<{ endpoint: string; method: string; status_code: number; response_time_ms: number; service_name: string }>(
        'SELECT endpoint, method, status_code, response_time_ms, service_name FROM performance_metrics WHERE tenant_id = $1 ORDER BY status_code',
        [systemTenant],
      ),
    );
    expect(rows.rows.map((row) => [row.method, row.endpoint, row.status_code, row.service_name])).toEqual([
      ['GET', '/api/v1/monitoring/metrics', 200, 'monitoring-service'],
      ['GET', '/api/v1/monitoring/metrics', 200, 'monitoring-service'],
      ['GET', '/api/v1/monitoring/metrics', 200, 'monitoring-service'],
      ['GET', '/api/v1/monitoring/metrics', 401, 'monitoring-service'],
    ]);
    const responseTimes = await latest('http_response_time_ms');
    expect(responseTimes[0]?.labels).toMatchObject({ method: 'GET', route: '/api/v1/monitoring/metrics' });
    const expectedMean = rows.rows.reduce((sum, row) => sum + row.response_time_ms, 0) / rows.rows.length;
    expect(responseTimes[0]?.value).toBeCloseTo(expectedMean, 6);
    expect((await latest('http_request_count'))[0]?.value).toBe(4);
  });

  it('reports pool metrics including postgres_pool_waiting and per-operation query stats', async () => {
    await t.container.db.withTenant(systemTenant, (tx) => tx.query('SELECT 1 FROM metrics WHERE tenant_id = $1 LIMIT 1', [systemTenant]));
    await t.container.scheduler.runNow('database-collector');
    const waiting = await latest('postgres_pool_waiting');
    expect(waiting[0]?.value).toBeGreaterThanOrEqual(0);
    expect(waiting[0]?.labels['adapter']).toBe(t.container.db.kind);
    expect((await latest('postgres_pool_total'))[0]?.value).toBeGreaterThanOrEqual(1);
    const selects = (await latest('postgres_query_count')).filter((row) => row.labels['operation'] === 'select');
    expect(selects[0]?.value).toBeGreaterThanOrEqual(1);
  });

  it('a full HTTP buffer drops and counts instead of growing', () => {
    const collector = createHttpCollector({ max: 2, now: () => new Date(0) });
    for (let index = 0; index < 5; index += 1) collector.observe({ method: 'GET', route: '/x', statusCode: 200, durationMs: index });
    const { requests, dropped } = collector.drain();
    expect(requests.length).toBe(2);
    expect(dropped).toBe(3);
    const samples = summariseRequests(requests, { service: 's', at: new Date(0), dropped, instance: 'i' });
    expect(samples.find((sample) => sample.name === 'http_collector_dropped_count')?.value).toBe(3);
    expect(collector.drain()).toEqual({ requests: [], dropped: 0 });
  });

  it('computes CPU usage from the time between readings', () => {
    const readings = [
      { idle: 100, total: 200 },
      { idle: 130, total: 300 },
      { idle: 130, total: 300 },
    ];
    let index = 0;
    const read = createCpuReader(() => readings[Math.min(index++, readings.length - 1)] ?? { idle: 0, total: 0 });
    expect(read()).toBe(70);
    expect(read()).toBeUndefined();
  });

  it('reads disk usage of an existing path and nothing for a missing one', async () => {
    const root = await readDiskUsage('/');
    expect(root?.usagePercent).toBeGreaterThan(0);
    expect(await readDiskUsage('/no/such/path/anywhere')).toBeUndefined();
  });

  it('names statements by operation and table for db_query_duration_ms', () => {
    expect(queryShape('SELECT id FROM metrics WHERE tenant_id = $1')).toEqual({ operation: 'select', table: 'metrics' });
    expect(queryShape('SELECT value FROM metric_samples_in($2, $3) WHERE tenant_id = $1')).toEqual({ operation: 'select', table: 'metrics' });
    expect(queryShape('INSERT INTO performance_metrics (a) SELECT * FROM unnest($1::text[])')).toEqual({ operation: 'insert', table: 'performance_metrics' });
    expect(queryShape('UPDATE "alerts" SET x = 1')).toEqual({ operation: 'update', table: 'alerts' });
    expect(queryShape('DELETE FROM metric_rollup_marks WHERE id IN (SELECT 1)')).toEqual({ operation: 'delete', table: 'metric_rollup_marks' });
    expect(queryShape('WITH RECURSIVE names AS (SELECT 1) SELECT metric_name FROM names')).toEqual({ operation: 'select', table: 'none' });
    expect(queryShape('WITH RECURSIVE names AS ((SELECT metric_name FROM metrics LIMIT 1) UNION ALL SELECT 1 FROM names n) SELECT metric_name FROM names')).toEqual({ operation: 'select', table: 'metrics' });
    expect(queryShape('SELECT DISTINCT k FROM metrics, jsonb_object_keys(labels) AS k')).toEqual({ operation: 'select', table: 'metrics' });
    expect(queryShape('SELECT 1 FROM unnest($1::uuid[]) AS b JOIN metrics m ON true')).toEqual({ operation: 'select', table: 'metrics' });
    expect(queryShape('SELECT floor(extract(epoch FROM "timestamp") * 1000) AS b FROM metrics')).toEqual({ operation: 'select', table: 'metrics' });
    expect(queryShape('WITH stored AS (INSERT INTO metrics (a) SELECT 1 RETURNING 1), marked AS (INSERT INTO metric_rollup_marks SELECT 1) SELECT count(*) FROM stored')).toEqual({ operation: 'insert', table: 'metrics' });
    expect(queryShape('SELECT cleanup_old_fraud_events()')).toEqual({ operation: 'select', table: 'none' });
  });
});
