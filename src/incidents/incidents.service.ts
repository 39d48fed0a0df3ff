import type { Logger } from 'pino';
import type { AlertChange } from '../alerts/alert-store.js';
import { forgetRead } from '../cache-admin/read-cache.js';
import { ConflictError, NotFoundError } from '../errors.js';
import type { Cache } from '../platform/cache/index.js';
import type { Clock } from '../platform/clock.js';
import type { Db, Tx } from '../platform/db/index.js';
import type { UnitFailed } from '../platform/scheduler.js';
import {
  activeCounts,
  addTimeline,
  autoOpenCandidates,
  countIncidents,
  findIncident,
  incidentsOfAlert,
  insertIncident,
  listIncidents,
  timelineOf,
  updateIncident,
  type AutoOpenCandidate,
  type IncidentChanges,
  type IncidentFilter,
  type IncidentRow,
  type IncidentSeverity,
  type IncidentStatus,
  type TimelineRow,
} from './incidents.repository.js';

export const AUTO_OPEN_ACTOR = 'system:incident-auto-open';

export interface CreateIncident {
  title: string;
  description?: string;
  severity: IncidentSeverity;
  status?: Exclude<IncidentStatus, 'resolved'>;
  service_name?: string;
  alert_id?: string;
  started_at?: Date;
}

export interface UpdateIncident {
  title?: string;
  description?: string | null;
  status?: IncidentStatus;
  severity?: IncidentSeverity;
  service_name?: string | null;
}

export type IncidentWithTimeline = IncidentRow & { timeline: TimelineRow[] };

export function createIncidentService(deps: { db: Db; cache: Cache; clock: Clock; logger: Logger }) {
  const { db, clock } = deps;
  const changed = (tenantId: string) => forgetRead(deps.cache, tenantId, ['incidents']).catch((error: unknown) => deps.logger.warn({ err: error }, 'incident cache invalidation failed'));

  const mustFind = async (tx: Tx, tenantId: string, id: string): Promise<IncidentRow> => {
    const incident = await findIncident(tx, tenantId, id, true);
    if (incident === null) throw new NotFoundError('Incident', id);
    return incident;
  };

  const withTimeline = async (tx: Tx, tenantId: string, incident: IncidentRow): Promise<IncidentWithTimeline> => ({ ...incident, timeline: await timelineOf(tx, tenantId, incident.id) });

  const resolveIn = async (tx: Tx, tenantId: string, incident: IncidentRow, actor: string, resolution: string | null): Promise<IncidentRow> => {
    if (incident.status === 'resolved') throw new ConflictError('Incident is already resolved', { id: incident.id });
    const now = clock.now();
    const updated = await updateIncident(tx, tenantId, incident.id, { status: 'resolved', resolved_at: now, resolution }, now);
    await addTimeline(tx, tenantId, incident.id, { kind: 'resolved', message: resolution ?? 'Incident resolved', author: actor, data: { from: incident.status } }, now);
    return updated ?? incident;
  };

  /** The incident of one long-firing critical alert, in its tenant's transaction; false when it already has one. */
  const openFor = async (alert: AutoOpenCandidate, now: Date): Promise<boolean> => {
    const created = await db.withTenant(alert.tenant_id, async (tx) => {
      const row = await insertIncident(
        tx,
        alert.tenant_id,
        { title: alert.name, description: alert.message, severity: 'critical', status: 'open', service_name: alert.service_name, alert_id: alert.alert_id, created_by: AUTO_OPEN_ACTOR, started_at: alert.fired_at },
        now,
      );
      if (row === null) return false;
      const firingFor = Math.round((now.getTime() - alert.fired_at.getTime()) / 1000);
      await addTimeline(tx, alert.tenant_id, row.id, { kind: 'alert_firing', message: alert.message, author: AUTO_OPEN_ACTOR, data: { alert_id: alert.alert_id } }, alert.fired_at);
      await addTimeline(tx, alert.tenant_id, row.id, { kind: 'created', message: `Opened automatically: critical alert firing for ${firingFor} s`, author: AUTO_OPEN_ACTOR, data: { alert_id: alert.alert_id } }, now);
      return true;
    });
    if (created) await changed(alert.tenant_id);
    return created;
  };

  return {
    async create(tenantId: string, actor: string, input: CreateIncident): Promise<IncidentWithTimeline> {
      const now = clock.now();
      const incident = await db.withTenant(tenantId, async (tx) => {
        const row = await insertIncident(
          tx,
          tenantId,
          {
            title: input.title,
            description: input.description ?? null,
            severity: input.severity,
            status: input.status ?? 'open',
            service_name: input.service_name ?? null,
            alert_id: input.alert_id ?? null,
            created_by: actor,
            started_at: input.started_at ?? now,
          },
          now,
        );
        if (row === null) throw new ConflictError('An incident already exists for this alert', { alert_id: input.alert_id });
        await addTimeline(tx, tenantId, row.id, { kind: 'created', message: `Incident opened: ${row.title}`, author: actor, data: { severity: row.severity, status: row.status } }, now);
        return withTimeline(tx, tenantId, row);
      });
      await changed(tenantId);
      return incident;
    },

    get: (tenantId: string, id: string): Promise<IncidentWithTimeline> =>
      db.withTenant(tenantId, async (tx) => {
        const incident = await findIncident(tx, tenantId, id);
        if (incident === null) throw new NotFoundError('Incident', id);
        return withTimeline(tx, tenantId, incident);
      }),

    /** One page, and how many incidents match over all pages. */
    list: (tenantId: string, filter: IncidentFilter): Promise<{ rows: IncidentRow[]; total: number }> =>
      db.withTenant(tenantId, async (tx) => ({ rows: await listIncidents(tx, tenantId, filter), total: await countIncidents(tx, tenantId, filter) })),

    /** Active incidents (newest 100) with counts of all active ones by severity and status, read in one transaction. */
    dashboard: (tenantId: string) =>
      db.withTenant(tenantId, async (tx) => {
        const counts = await activeCounts(tx, tenantId);
        const active = await listIncidents(tx, tenantId, { active: true, limit: 100, offset: 0 });
        const sum = (key: 'severity' | 'status') =>
          counts.reduce<Record<string, number>>((acc, row) => {
            acc[row[key]] = (acc[row[key]] ?? 0) + row.count;
            return acc;
          }, {});
        return { active_total: counts.reduce((total, row) => total + row.count, 0), by_severity: sum('severity'), by_status: sum('status'), incidents: active };
      }),

    /** Field changes and status moves, each written to the timeline; `resolved` goes through resolve, a resolved incident moved back is reopened. */
    async update(tenantId: string, id: string, actor: string, input: UpdateIncident): Promise<IncidentWithTimeline> {
      const result = await db.withTenant(tenantId, async (tx) => {
        const incident = await mustFind(tx, tenantId, id);
        const now = clock.now();
        const { status, ...fields } = input;
        const changes: IncidentChanges = {};
        const changedFields = (Object.keys(fields) as Array<keyof typeof fields>).filter((key) => fields[key] !== undefined && fields[key] !== incident[key]);
        for (const key of changedFields) Object.assign(changes, { [key]: fields[key] });
        let current = incident;
        if (changedFields.length > 0) {
          current = (await updateIncident(tx, tenantId, id, changes, now)) ?? current;
          await addTimeline(tx, tenantId, id, { kind: 'updated', message: `Updated ${changedFields.join(', ')}`, author: actor, data: Object.fromEntries(changedFields.map((key) => [key, { from: incident[key], to: fields[key] }])) }, now);
        }
        if (status !== undefined && status !== current.status) {
          if (status === 'resolved') current = await resolveIn(tx, tenantId, current, actor, null);
          else {
            const reopening = current.status === 'resolved';
            current = (await updateIncident(tx, tenantId, id, reopening ? { status, resolved_at: null, resolution: null } : { status }, now)) ?? current;
            await addTimeline(tx, tenantId, id, { kind: reopening ? 'reopened' : 'status_changed', message: `Status ${incident.status} -> ${status}`, author: actor, data: { from: incident.status, to: status } }, now);
          }
        }
        return withTimeline(tx, tenantId, current);
      });
      await changed(tenantId);
      return result;
    },

    async resolve(tenantId: string, id: string, actor: string, resolution: string | null): Promise<IncidentWithTimeline> {
      const result = await db.withTenant(tenantId, async (tx) => withTimeline(tx, tenantId, await resolveIn(tx, tenantId, await mustFind(tx, tenantId, id), actor, resolution)));
      await changed(tenantId);
      return result;
    },

    async addNote(tenantId: string, id: string, actor: string, message: string): Promise<TimelineRow> {
      return db.withTenant(tenantId, async (tx) => {
        await mustFind(tx, tenantId, id);
        const entry = await addTimeline(tx, tenantId, id, { kind: 'note', message, author: actor }, clock.now());
        if (entry === null) throw new NotFoundError('Incident', id);
        return entry;
      });
    },

    /**
     * Opens one incident per critical alert that has been firing longer than `afterMs`, linked to
     * it, each in its tenant's own transaction: one that fails is logged and reported, and found
     * again by the next run; the others go on.
     */
    async autoOpen(afterMs: number, onUnitFailure?: UnitFailed): Promise<number> {
      const now = clock.now();
      const candidates = await db.asSystem((tx) => autoOpenCandidates(tx, new Date(now.getTime() - afterMs), 500));
      let opened = 0;
      for (const alert of candidates) {
        try {
          if (await openFor(alert, now)) opened += 1;
        } catch (error) {
          deps.logger.error({ err: error, tenantId: alert.tenant_id, alertId: alert.alert_id }, 'incident auto-open failed for an alert; it is retried next run');
          onUnitFailure?.({ tenantId: alert.tenant_id, alertId: alert.alert_id }, error);
        }
      }
      return opened;
    },

    /** A resolved alert is noted on its incidents; closing the incident stays a human decision. */
    async onAlertChange(change: AlertChange): Promise<void> {
      if (change.kind !== 'resolved') return;
      const { tenantId, alert } = change;
      await db.withTenant(tenantId, async (tx) => {
        for (const incident of await incidentsOfAlert(tx, tenantId, alert.id)) {
          await addTimeline(tx, tenantId, incident.id, { kind: 'alert_resolved', message: `Linked alert ${alert.name} resolved; the incident stays open until someone resolves it`, author: alert.resolved_by ?? 'system', data: { alert_id: alert.id } }, clock.now());
        }
      });
    },
  };
}

export type IncidentService = ReturnType<typeof createIncidentService>;
