import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCleanup } from '../../src/metrics/cleanup.job.js';
import { runCompaction } from '../../src/metrics/compaction.job.js';
import { utcDay } from '../../src/metrics/metrics.repository.js';
import { createTestApp, newTenant, type TestApp } from '../support/app.js';
import { insertStoredSamples } from '../support/stored-samples.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

const DAY = 86_400_000;

async function partitionExists(day: Date): Promise<boolean> {
  const name = `metric_head_${utcDay(day).replaceAll('-', '')}`;
  const result = await t.container.db.asSystem((tx) => tx.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [name]));
  return result.rows[0]?.present === true;
}

async function insertRaw(tenant: string, at: Date, name: string) {
  await t.container.db.withTenant(tenant, (tx) => insertStoredSamples(tx, tenant, [{ name, service: 'svc', value: 1, at }]));
}

const count = async (sql: string, params: unknown[]) => {
  const result = await t.container.db.asSystem((tx) => tx.query<{ n: number }>(sql, params));
  return Number(result.rows[0]?.n ?? -1);
};

/** A local server speaking the part of the Elasticsearch index API the cleanup uses. */
async function fakeElasticsearch(indices: Array<{ index: string; created: number }>, options: { failListing?: boolean } = {}) {
  const deleted: string[] = [];
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    const url = request.url ?? '';
    requests.push(`${request.method} ${url}`);
    if (request.method === 'GET' && url.startsWith('/_cat/indices/logs-*')) {
      if (options.failListing === true) {
        response.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}');
        return;
      }
      const body = indices.filter((entry) => entry.index.startsWith('logs-') || entry.index.startsWith('.')).map((entry) => ({ index: entry.index, 'creation.date': String(entry.created) }));
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    if (request.method === 'DELETE') {
      const name = decodeURIComponent(url.slice(1));
      deleted.push(name);
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"acknowledged":true}');
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, deleted, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('cleanup', () => {
  it('drops raw partitions older than the retention, keeps newer ones and creates partitions ahead', async () => {
    const tenant = newTenant();
    const now = new Date();
    const old = new Date(now.getTime() - 92 * DAY);
    const kept = new Date(now.getTime() - 88 * DAY);
    await insertRaw(tenant, old, 'too_old');
    await insertRaw(tenant, kept, 'still_kept');
    expect(await partitionExists(old)).toBe(true);

    const outcome = await runCleanup({ db: t.container.db, logger: t.container.logger, config: t.container.config }, now);
    expect(outcome.droppedPartitions).toBeGreaterThanOrEqual(1);
    expect(outcome.elasticsearch).toBe('not configured');
    expect(await partitionExists(old)).toBe(false);
    expect(await partitionExists(kept)).toBe(true);
    expect(await count('SELECT count(*) AS n FROM metrics WHERE tenant_id = $1', [tenant])).toBe(1);
    expect(await partitionExists(new Date(now.getTime() + 7 * DAY))).toBe(true);
  });

  it('deletes rollups older than a year, resolved alerts and settled notifications older than 90 days and investigated fraud events older than a year', async () => {
    const tenant = newTenant();
    const now = new Date();
    const ago = (days: number) => new Date(now.getTime() - days * DAY).toISOString();
    await t.container.db.withTenant(tenant, async (tx) => {
      await tx.query(
        `INSERT INTO metric_rollups (tenant_id, resolution, bucket_start, series_key, metric_name, service_name, count, sum, min, max, avg, p95)
         VALUES ($1, '1d', $2, 'old', 'm', 's', 1, 1, 1, 1, 1, 1), ($1, '1d', $3, 'new', 'm', 's', 1, 1, 1, 1, 1, 1)`,
        [tenant, ago(370), ago(300)],
      );
      await tx.query(
        `INSERT INTO alerts (tenant_id, fingerprint, name, type, severity, message, source, status, resolved, resolved_at, starts_at) VALUES
         ($1, 'f1', 'old-resolved', 'metric', 'warning', 'm', 'test', 'resolved', true, $2, $2),
         ($1, 'f2', 'new-resolved', 'metric', 'warning', 'm', 'test', 'resolved', true, $3, $3),
         ($1, 'f3', 'old-open', 'metric', 'warning', 'm', 'test', 'firing', false, NULL, $2)`,
        [tenant, ago(100), ago(10)],
      );
      await tx.query(
        `INSERT INTO fraud_events (tenant_id, user_id, pattern, risk_level, investigated, "timestamp") VALUES
         ($1, 'u1', 'bot', 'high', true, $2), ($1, 'u2', 'bot', 'high', false, $2), ($1, 'u3', 'bot', 'high', true, $3)`,
        [tenant, ago(400), ago(100)],
      );
      await tx.query(
        `INSERT INTO notification_outbox (tenant_id, channel, kind, severity, payload, status, next_attempt_at, created_at, updated_at) VALUES
         ($1, 'email', 'group', 'warning', '{}', 'delivered', $2, $2, $2), ($1, 'email', 'group', 'warning', '{"kept":"new"}', 'delivered', $3, $3, $3),
         ($1, 'email', 'group', 'warning', '{"kept":"pending"}', 'pending', $2, $2, $2)`,
        [tenant, ago(100), ago(10)],
      );
    });
    await runCleanup({ db: t.container.db, logger: t.container.logger, config: t.container.config }, now);
    const names = async (sql: string) => (await t.container.db.withTenant(tenant, (tx) => tx.query<{ v: string }>(sql, [tenant]))).rows.map((row) => row.v).sort();
    expect(await names('SELECT series_key AS v FROM metric_rollups WHERE tenant_id = $1')).toEqual(['new']);
    expect(await names('SELECT name AS v FROM alerts WHERE tenant_id = $1')).toEqual(['new-resolved', 'old-open']);
    expect(await names('SELECT user_id AS v FROM fraud_events WHERE tenant_id = $1')).toEqual(['u2', 'u3']);
    expect(await names("SELECT payload->>'kept' AS v FROM notification_outbox WHERE tenant_id = $1")).toEqual(['new', 'pending']);
  });

  it('the SQL retention functions run for system work only (the tenant role may not delete across tenants)', async () => {
    const result = await t.container.db.asSystem(async (tx) => {
      const metrics = await tx.query<{ dropped_partitions: number }>('SELECT * FROM cleanup_old_metrics()');
      const fraud = await tx.query<{ deleted: number }>('SELECT cleanup_old_fraud_events() AS deleted');
      const role = await tx.query<{ role: string }>('SELECT current_user AS role');
      return { metrics: metrics.rowCount, fraud: fraud.rowCount, role: role.rows[0]?.role };
    });
    expect(result).toEqual({ metrics: 1, fraud: 1, role: 'monitoring_system' });
    await expect(t.container.db.withTenant(newTenant(), (tx) => tx.query('SELECT * FROM cleanup_old_metrics()'))).rejects.toThrow(/permission denied/);
  });

  it('deletes Elasticsearch log indices older than 30 days and nothing else', async () => {
    const now = new Date();
    const es = await fakeElasticsearch([
      { index: 'logs-2025.01.01', created: now.getTime() - 45 * DAY },
      { index: 'logs-recent', created: now.getTime() - 5 * DAY },
      { index: '.internal-logs', created: now.getTime() - 400 * DAY },
    ]);
    try {
      const config = { ...t.container.config, ELASTICSEARCH_URL: es.url };
      const outcome = await runCleanup({ db: t.container.db, logger: t.container.logger, config }, now);
      expect(outcome.elasticsearch).toEqual({ deleted: ['logs-2025.01.01'] });
      expect(es.deleted).toEqual(['logs-2025.01.01']);
    } finally {
      await es.close();
    }
  });

  it('reports an Elasticsearch failure instead of pretending it cleaned', async () => {
    const es = await fakeElasticsearch([], { failListing: true });
    try {
      const config = { ...t.container.config, ELASTICSEARCH_URL: es.url };
      await expect(runCleanup({ db: t.container.db, logger: t.container.logger, config }, new Date())).rejects.toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
    } finally {
      await es.close();
    }
  });

  it('is scheduled daily at CLEANUP_HOUR_UTC', async () => {
    expect(t.container.scheduler.jobs()).toContain('cleanup');
    const outcome = await t.container.scheduler.runNow('cleanup');
    expect(outcome.status).toBe('ran');
  });
  it('drops the chunk partitions of compacted days once they are past the retention', async () => {
    const tenant = newTenant();
    const now = new Date();
    const old = new Date(now.getTime() - 89 * DAY);
    await insertRaw(tenant, old, 'compacted_then_expired');
    const compaction = await runCompaction({ db: t.container.db, logger: t.container.logger, delayMs: 0 }, now);
    expect(compaction.failed).toBe(0);
    const chunkPartition = `metric_chunks_${utcDay(old).replaceAll('-', '')}`;
    const exists = async (name: string) => (await t.container.db.asSystem((tx) => tx.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [name]))).rows[0]?.present === true;
    expect(await exists(chunkPartition)).toBe(true);
    expect(await partitionExists(old)).toBe(false);
    expect(await count("SELECT count(*) AS n FROM metrics WHERE tenant_id = $1 AND metric_name = 'compacted_then_expired'", [tenant])).toBe(1);

    // Three days later the day is 92 days old: its chunks go with their partition.
    await runCleanup({ db: t.container.db, logger: t.container.logger, config: t.container.config }, new Date(now.getTime() + 3 * DAY));
    expect(await exists(chunkPartition)).toBe(false);
    expect(await count("SELECT count(*) AS n FROM metrics WHERE tenant_id = $1 AND metric_name = 'compacted_then_expired'", [tenant])).toBe(0);
  });
});
