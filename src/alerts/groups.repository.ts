import type { Tx } from '../platform/db/index.js';
import { ALERT_COLUMNS, type AlertRow } from './alert-store.js';
import type { ChannelName } from './channels.js';

export interface GroupState {
  group_key: string;
  channels: ChannelName[];
  group_labels: Record<string, string>;
  created_at: Date;
  next_flush_at: Date;
  last_notified_at: Date | null;
  notified_firing: string[];
}

export type FiringAlert = AlertRow & { rule_channels: ChannelName[] | null };

export async function firingAlerts(tx: Tx, tenantId: string): Promise<FiringAlert[]> {
  const result = await tx.query<FiringAlert>(
    `SELECT ${ALERT_COLUMNS.split(',').map((column) => `a.${column.trim()}`).join(', ')}, r.channels AS rule_channels
     FROM alerts a LEFT JOIN alert_rules r ON r.tenant_id = $1 AND r.id = a.rule_id
     WHERE a.tenant_id = $1 AND a.resolved = false AND a.status = 'firing'
     ORDER BY a.fired_at, a.id`,
    [tenantId],
  );
  return result.rows;
}

/** The latest alert row of each fingerprint (to report resolutions of notified alerts). */
export async function latestByFingerprint(tx: Tx, tenantId: string, fingerprints: string[]): Promise<Map<string, AlertRow>> {
  if (fingerprints.length === 0) return new Map();
  const result = await tx.query<AlertRow>(
    `SELECT DISTINCT ON (fingerprint) ${ALERT_COLUMNS} FROM alerts WHERE tenant_id = $1 AND fingerprint = ANY($2::text[]) ORDER BY fingerprint, created_at DESC, id`,
    [tenantId, fingerprints],
  );
  return new Map(result.rows.map((row) => [row.fingerprint, row]));
}

export async function groupStates(tx: Tx, tenantId: string): Promise<GroupState[]> {
  const result = await tx.query<GroupState>(
    'SELECT group_key, channels, group_labels, created_at, next_flush_at, last_notified_at, notified_firing FROM alert_groups WHERE tenant_id = $1',
    [tenantId],
  );
  return result.rows;
}

export async function saveGroupState(tx: Tx, tenantId: string, state: GroupState): Promise<void> {
  await tx.query(
    `INSERT INTO alert_groups (tenant_id, group_key, channels, group_labels, created_at, next_flush_at, last_notified_at, notified_firing)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (tenant_id, group_key) DO UPDATE SET next_flush_at = EXCLUDED.next_flush_at, last_notified_at = EXCLUDED.last_notified_at, notified_firing = EXCLUDED.notified_firing`,
    [tenantId, state.group_key, JSON.stringify(state.channels), JSON.stringify(state.group_labels), state.created_at, state.next_flush_at, state.last_notified_at, state.notified_firing],
  );
}

export async function deleteGroupState(tx: Tx, tenantId: string, groupKey: string): Promise<void> {
  await tx.query('DELETE FROM alert_groups WHERE tenant_id = $1 AND group_key = $2', [tenantId, groupKey]);
}

export async function tenantsToDispatch(tx: Tx): Promise<string[]> {
  const result = await tx.query<{ tenant_id: string }>(
    `SELECT tenant_id FROM alerts WHERE resolved = false AND status = 'firing' UNION SELECT tenant_id FROM alert_groups`,
  );
  return result.rows.map((row) => row.tenant_id);
}
