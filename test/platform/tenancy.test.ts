import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { runtimeUrl, TEST_DATABASE_URL } from '../support/env.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => t.close());

describe('tenant isolation', () => {
  it('every table has row level security enabled and forced', async () => {
    const { rows } = await t.container.db.asSystem((tx) =>
      tx.query<{ relname: string }>(
        `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT (c.relrowsecurity AND c.relforcerowsecurity)`,
      ),
    );
    expect(rows.map((row) => row.relname)).toEqual([]);
    const tables = await t.container.db.asSystem((tx) => tx.query(`SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind IN ('r','p')`));
    expect(tables.rowCount).toBeGreaterThanOrEqual(12);
  });

  it('queries run as a role that is neither superuser nor exempt from RLS: tenant work and system work each their own', async () => {
    const sql = 'SELECT rolsuper, rolbypassrls, rolname AS role FROM pg_roles WHERE rolname = current_user';
    const tenantWork = await t.container.db.withTenant(newTenant(), (tx) => tx.query<{ rolsuper: boolean; rolbypassrls: boolean; role: string }>(sql));
    expect(tenantWork.rows).toEqual([{ rolsuper: false, rolbypassrls: false, role: 'monitoring_app' }]);
    const systemWork = await t.container.db.asSystem((tx) => tx.query<{ rolsuper: boolean; rolbypassrls: boolean; role: string }>(sql));
    expect(systemWork.rows).toEqual([{ rolsuper: false, rolbypassrls: false, role: 'monitoring_system' }]);
  });

  it('tenant work cannot widen its view by setting the old system flag, nor run the cross-tenant cleanup functions', async () => {
    const a = newTenant();
    const b = newTenant();
    await t.container.db.withTenant(a, (tx) => tx.query(`INSERT INTO dashboards (tenant_id, name, owner) VALUES ($1, 'a-only', 'alice')`, [a]));
    const seen = await t.container.db.withTenant(b, async (tx) => {
      await tx.query("SELECT set_config('app.is_system_user', 'true', true)");
      await tx.query("SELECT set_config('app.is_system_user', 'true', false)");
      return tx.query('SELECT 1 FROM dashboards WHERE tenant_id = $1', [a]);
    });
    expect(seen.rowCount).toBe(0);
    await expect(t.container.db.withTenant(b, (tx) => tx.query('SELECT * FROM cleanup_old_metrics()'))).rejects.toThrow(/permission denied/);
    await expect(t.container.db.withTenant(b, (tx) => tx.query('SELECT cleanup_old_fraud_events()'))).rejects.toThrow(/permission denied/);
    await expect(t.container.db.withTenant(b, (tx) => tx.query('SELECT 1 FROM job_runs'))).rejects.toThrow(/permission denied/);
  });

  if (TEST_DATABASE_URL === undefined) console.info('tenancy: the runtime login role test needs PostgreSQL (TEST_DATABASE_URL); PGlite has one embedded user');
  it.skipIf(TEST_DATABASE_URL === undefined)('the runtime login role sees no tenant rows by itself, whatever it sets, and is neither superuser nor owner', async () => {
    const a = newTenant();
    await t.container.db.withTenant(a, (tx) => tx.query(`INSERT INTO dashboards (tenant_id, name, owner) VALUES ($1, 'secret', 'alice')`, [a]));
    const client = new pg.Client({ connectionString: runtimeUrl(TEST_DATABASE_URL ?? '') });
    await client.connect();
    try {
      const login = await client.query<{ role: string; rolsuper: boolean; owned: number }>(
        `SELECT current_user AS role, rolsuper, (SELECT count(*)::int FROM pg_class WHERE pg_has_role(current_user, relowner, 'USAGE') AND relkind IN ('r', 'p')) AS owned
         FROM pg_roles WHERE rolname = current_user`,
      );
      expect(login.rows).toEqual([{ role: 'monitoring_runtime', rolsuper: false, owned: 0 }]);
      await client.query("SET app.is_system_user = 'true'");
      await client.query(`SET app.current_tenant_id = '${a}'`);
      await expect(client.query('SELECT count(*) FROM dashboards')).rejects.toThrow(/permission denied/);
      await expect(client.query('SELECT * FROM cleanup_old_metrics()')).rejects.toThrow(/permission denied/);
      // As the tenant role with every setting it could try, another tenant stays invisible.
      await client.query('BEGIN');
      await client.query('SET LOCAL ROLE monitoring_app');
      await client.query("SELECT set_config('app.is_system_user', 'true', true), set_config('app.current_tenant_id', $1, true)", [newTenant()]);
      const { rowCount } = await client.query('SELECT 1 FROM dashboards WHERE tenant_id = $1', [a]);
      expect(rowCount).toBe(0);
      await client.query('ROLLBACK');
    } finally {
      await client.end();
    }
  });

  it('tenant B cannot read, change or delete tenant A rows through SQL; system work sees both', async () => {
    const a = newTenant();
    const b = newTenant();
    const id = await t.container.db.withTenant(a, async (tx) => {
      const result = await tx.query<{ id: string }>(`INSERT INTO dashboards (tenant_id, name, owner) VALUES ($1, 'ops', 'alice') RETURNING id`, [a]);
      return result.rows[0]?.id;
    });
    await t.container.db.withTenant(b, (tx) => tx.query(`INSERT INTO dashboards (tenant_id, name, owner) VALUES ($1, 'ops-b', 'bob')`, [b]));

    const seenByB = await t.container.db.withTenant(b, (tx) => tx.query('SELECT id FROM dashboards WHERE id = $1', [id]));
    expect(seenByB.rowCount).toBe(0);
    const updated = await t.container.db.withTenant(b, (tx) => tx.query(`UPDATE dashboards SET name = 'pwned' WHERE id = $1`, [id]));
    expect(updated.rowCount).toBe(0);
    const deleted = await t.container.db.withTenant(b, (tx) => tx.query('DELETE FROM dashboards WHERE id = $1', [id]));
    expect(deleted.rowCount).toBe(0);
    await expect(t.container.db.withTenant(b, (tx) => tx.query(`INSERT INTO dashboards (tenant_id, name, owner) VALUES ($1, 'forged', 'bob')`, [a]))).rejects.toThrow(/row-level security/);

    const stillThere = await t.container.db.withTenant(a, (tx) => tx.query<{ name: string }>('SELECT name FROM dashboards WHERE id = $1', [id]));
    expect(stillThere.rows).toEqual([{ name: 'ops' }]);
    const system = await t.container.db.asSystem((tx) => tx.query('SELECT 1 FROM dashboards WHERE tenant_id = ANY($1::uuid[])', [[a, b]]));
    expect(system.rowCount).toBe(2);
  });

  it('the partitions of the head and of the chunks are reachable only through their parents', async () => {
    const a = newTenant();
    await t.container.ingest.ingest(a, [{ name: 'probe', service: 'svc', value: 1 }], 'internal');
    const today = new Date().toISOString().slice(0, 10);
    await t.container.db.withTenant(a, (tx) => tx.query("SELECT ensure_day_partitions('metric_chunks', $1::date, $1::date)", [today]));
    for (const parent of ['metric_head', 'metric_chunks']) {
      const name = `${parent}_${today.replaceAll('-', '')}`;
      const exists = await t.container.db.asSystem((tx) => tx.query<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [name]));
      expect(exists.rows[0]?.present).toBe(true);
      await expect(t.container.db.asSystem((tx) => tx.query(`SELECT count(*) FROM ${name}`))).rejects.toThrow(/permission denied/);
      await expect(t.container.db.withTenant(a, (tx) => tx.query(`SELECT count(*) FROM ${name}`))).rejects.toThrow(/permission denied/);
    }
  });

  it('a tenant reads only its own metrics through the API, even under concurrent requests', async () => {
    const a = newTenant();
    const b = newTenant();
    const headersA = { ...(await bearer(a)), 'content-type': 'application/json' };
    const headersB = { ...(await bearer(b)), 'content-type': 'application/json' };
    await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers: headersA, payload: { name: 'secret_a', service: 'svc', value: 1 } });
    await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers: headersB, payload: { name: 'secret_b', service: 'svc', value: 2 } });

    const reads = await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        t.app.inject({ method: 'GET', url: '/api/v1/monitoring/metrics', headers: index % 2 === 0 ? headersA : headersB }).then((response) => ({ tenant: index % 2 === 0 ? 'a' : 'b', body: response.json<{ data: Array<{ metric_name: string }> }>() })),
      ),
    );
    for (const read of reads) {
      expect(read.body.data.map((row) => row.metric_name)).toEqual([read.tenant === 'a' ? 'secret_a' : 'secret_b']);
    }
  });
});
