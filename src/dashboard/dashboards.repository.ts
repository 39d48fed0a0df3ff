import type { Tx } from '../platform/db/index.js';

export interface DashboardRow {
  id: string;
  name: string;
  description: string | null;
  widgets: unknown[];
  layout: Record<string, unknown>;
  owner: string;
  shared: boolean;
  created_at: Date;
  updated_at: Date;
}

export interface DashboardInput {
  name: string;
  description: string | null;
  widgets: unknown[];
  layout: Record<string, unknown>;
  shared: boolean;
}

const COLUMNS = 'id, name, description, widgets, layout, owner, shared, created_at, updated_at';

export async function insertDashboard(tx: Tx, tenantId: string, owner: string, input: DashboardInput, now: Date): Promise<DashboardRow | undefined> {
  const { rows } = await tx.query<DashboardRow>(
    `INSERT INTO dashboards (tenant_id, name, description, widgets, layout, owner, shared, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ${COLUMNS}`,
    [tenantId, input.name, input.description, JSON.stringify(input.widgets), JSON.stringify(input.layout), owner, input.shared, now],
  );
  return rows[0];
}

/** What a user may see: their own, the shared ones, or everything for admins. */
/** One page of the dashboards the viewer may see (an admin: all), and how many they are over all pages. */
export async function visibleDashboards(tx: Tx, tenantId: string, viewer: string, admin: boolean, limit: number, offset: number): Promise<{ rows: DashboardRow[]; total: number }> {
  const visible = 'tenant_id = $1 AND ($3 OR owner = $2 OR shared)';
  const { rows } = await tx.query<DashboardRow>(`SELECT ${COLUMNS} FROM dashboards WHERE ${visible} ORDER BY name, id LIMIT $4 OFFSET $5`, [tenantId, viewer, admin, limit, offset]);
  const total = await tx.query<{ total: number }>(`SELECT count(*)::int AS total FROM dashboards WHERE ${visible}`, [tenantId, viewer, admin]);
  return { rows, total: total.rows[0]?.total ?? 0 };
}

export async function findDashboard(tx: Tx, tenantId: string, id: string): Promise<DashboardRow | undefined> {
  const { rows } = await tx.query<DashboardRow>(`SELECT ${COLUMNS} FROM dashboards WHERE tenant_id = $1 AND id = $2`, [tenantId, id]);
  return rows[0];
}

export async function replaceDashboard(tx: Tx, tenantId: string, id: string, input: DashboardInput, now: Date): Promise<DashboardRow | undefined> {
  const { rows } = await tx.query<DashboardRow>(
    `UPDATE dashboards SET name = $3, description = $4, widgets = $5, layout = $6, shared = $7, updated_at = $8 WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [tenantId, id, input.name, input.description, JSON.stringify(input.widgets), JSON.stringify(input.layout), input.shared, now],
  );
  return rows[0];
}

/** Custom dashboards of the tenant (LIMIT_DASHBOARDS). */
export async function countDashboards(tx: Tx, tenantId: string): Promise<number> {
  const { rows } = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM dashboards WHERE tenant_id = $1', [tenantId]);
  return rows[0]?.n ?? 0;
}

/** Dashboards of each tenant, for the usage views (system transaction). */
export async function dashboardCounts(tx: Tx, tenantIds: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await tx.query<{ tenant_id: string; n: number }>('SELECT tenant_id, count(*)::int AS n FROM dashboards WHERE tenant_id = ANY($1::uuid[]) GROUP BY tenant_id', [tenantIds]);
  return new Map(rows.map((row) => [row.tenant_id, row.n]));
}

export async function deleteDashboard(tx: Tx, tenantId: string, id: string): Promise<boolean> {
  const result = await tx.query('DELETE FROM dashboards WHERE tenant_id = $1 AND id = $2', [tenantId, id]);
  return result.rowCount === 1;
}
