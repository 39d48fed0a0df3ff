import type { Tx } from '../platform/db/index.js';

export const INCIDENT_STATUSES = ['open', 'investigating', 'identified', 'monitoring', 'resolved'] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];
export const INCIDENT_SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
export type IncidentSeverity = (typeof INCIDENT_SEVERITIES)[number];
export type TimelineKind = 'created' | 'status_changed' | 'updated' | 'note' | 'alert_firing' | 'alert_resolved' | 'resolved' | 'reopened';

export interface IncidentRow {
  id: string;
  title: string;
  description: string | null;
  status: IncidentStatus;
  severity: IncidentSeverity;
  service_name: string | null;
  alert_id: string | null;
  created_by: string;
  resolution: string | null;
  started_at: Date;
  resolved_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface TimelineRow {
  id: string;
  kind: TimelineKind;
  message: string;
  author: string;
  data: Record<string, unknown>;
  created_at: Date;
}

const COLUMNS = 'id, title, description, status, severity, service_name, alert_id, created_by, resolution, started_at, resolved_at, created_at, updated_at';

export interface NewIncident {
  title: string;
  description: string | null;
  severity: IncidentSeverity;
  status: IncidentStatus;
  service_name: string | null;
  alert_id: string | null;
  created_by: string;
  started_at: Date;
}

/** Returns null when an incident for the same alert already exists (the unique index decides). */
export async function insertIncident(tx: Tx, tenantId: string, incident: NewIncident, now: Date): Promise<IncidentRow | null> {
  const { rows } = await tx.query<IncidentRow>(
    `INSERT INTO incidents (tenant_id, title, description, status, severity, service_name, alert_id, created_by, started_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
     ON CONFLICT (tenant_id, alert_id) WHERE alert_id IS NOT NULL DO NOTHING
     RETURNING ${COLUMNS}`,
    [tenantId, incident.title, incident.description, incident.status, incident.severity, incident.service_name, incident.alert_id, incident.created_by, incident.started_at, now],
  );
  return rows[0] ?? null;
}

export async function findIncident(tx: Tx, tenantId: string, id: string, lock = false): Promise<IncidentRow | null> {
  const { rows } = await tx.query<IncidentRow>(`SELECT ${COLUMNS} FROM incidents WHERE tenant_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`, [tenantId, id]);
  return rows[0] ?? null;
}

export interface IncidentFilter {
  status?: IncidentStatus;
  severity?: IncidentSeverity;
  service?: string;
  active?: boolean;
  limit: number;
  offset: number;
}

const INCIDENT_FILTER = `tenant_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR severity = $3) AND ($4::text IS NULL OR service_name = $4)
       AND ($5::boolean IS NULL OR ($5 AND status <> 'resolved') OR (NOT $5 AND status = 'resolved'))`;
const filterParams = (tenantId: string, filter: IncidentFilter) => [tenantId, filter.status ?? null, filter.severity ?? null, filter.service ?? null, filter.active ?? null];

export async function listIncidents(tx: Tx, tenantId: string, filter: IncidentFilter): Promise<IncidentRow[]> {
  const { rows } = await tx.query<IncidentRow>(`SELECT ${COLUMNS} FROM incidents WHERE ${INCIDENT_FILTER} ORDER BY started_at DESC, id LIMIT $6 OFFSET $7`, [
    ...filterParams(tenantId, filter),
    filter.limit,
    filter.offset,
  ]);
  return rows;
}

/** Incidents matching the filter over all pages. */
export async function countIncidents(tx: Tx, tenantId: string, filter: IncidentFilter): Promise<number> {
  const { rows } = await tx.query<{ total: number }>(`SELECT count(*)::int AS total FROM incidents WHERE ${INCIDENT_FILTER}`, filterParams(tenantId, filter));
  return rows[0]?.total ?? 0;
}

export interface IncidentChanges {
  title?: string;
  description?: string | null;
  status?: IncidentStatus;
  severity?: IncidentSeverity;
  service_name?: string | null;
  resolution?: string | null;
  resolved_at?: Date | null;
}

export async function updateIncident(tx: Tx, tenantId: string, id: string, changes: IncidentChanges, now: Date): Promise<IncidentRow | null> {
  const entries = (Object.entries(changes) as Array<[string, unknown]>).filter(([, value]) => value !== undefined);
  const assignments = entries.map(([column], index) => `${column} = $${index + 4}`);
  const { rows } = await tx.query<IncidentRow>(
    `UPDATE incidents SET ${[...assignments, 'updated_at = $3'].join(', ')} WHERE tenant_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [tenantId, id, now, ...entries.map(([, value]) => value)],
  );
  return rows[0] ?? null;
}

export async function addTimeline(tx: Tx, tenantId: string, incidentId: string, entry: { kind: TimelineKind; message: string; author: string; data?: Record<string, unknown> }, now: Date): Promise<TimelineRow | null> {
  const { rows } = await tx.query<TimelineRow>(
    `INSERT INTO incident_timeline (tenant_id, incident_id, kind, message, author, data, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
     RETURNING id, kind, message, author, data, created_at`,
    [tenantId, incidentId, entry.kind, entry.message, entry.author, JSON.stringify(entry.data ?? {}), now],
  );
  return rows[0] ?? null;
}

export async function timelineOf(tx: Tx, tenantId: string, incidentId: string): Promise<TimelineRow[]> {
  const { rows } = await tx.query<TimelineRow>(
    'SELECT id, kind, message, author, data, created_at FROM incident_timeline WHERE tenant_id = $1 AND incident_id = $2 ORDER BY created_at, seq',
    [tenantId, incidentId],
  );
  return rows;
}

export async function incidentsOfAlert(tx: Tx, tenantId: string, alertId: string): Promise<Array<{ id: string }>> {
  const { rows } = await tx.query<{ id: string }>('SELECT id FROM incidents WHERE tenant_id = $1 AND alert_id = $2', [tenantId, alertId]);
  return rows;
}

export interface AutoOpenCandidate {
  tenant_id: string;
  alert_id: string;
  name: string;
  message: string;
  service_name: string | null;
  fired_at: Date;
}

/** Critical alerts firing since before `cutoff` without an incident (system work: spans tenants). */
export async function autoOpenCandidates(tx: Tx, cutoff: Date, limit: number): Promise<AutoOpenCandidate[]> {
  const { rows } = await tx.query<AutoOpenCandidate>(
    `SELECT a.tenant_id, a.id AS alert_id, a.name, a.message, a.service_name, a.fired_at
     FROM alerts a
     WHERE a.resolved = false AND a.status = 'firing' AND a.severity = 'critical' AND a.fired_at <= $1
       AND NOT EXISTS (SELECT 1 FROM incidents i WHERE i.tenant_id = a.tenant_id AND i.alert_id = a.id)
     ORDER BY a.fired_at LIMIT $2`,
    [cutoff, limit],
  );
  return rows;
}

export interface IncidentCounts {
  status: IncidentStatus;
  severity: IncidentSeverity;
  count: number;
}

export async function activeCounts(tx: Tx, tenantId: string): Promise<IncidentCounts[]> {
  const { rows } = await tx.query<IncidentCounts>(
    `SELECT status, severity, count(*)::int AS count FROM incidents WHERE tenant_id = $1 AND status <> 'resolved' GROUP BY status, severity`,
    [tenantId],
  );
  return rows;
}
