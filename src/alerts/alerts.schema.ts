import { Type } from '@sinclair/typebox';
import { finiteOrNull, NonFiniteFieldsSchema, nonFiniteMember, type NonFiniteFields } from '../platform/non-finite.js';
import type { AlertRow } from './alert-store.js';

const nullableTime = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

export const AlertSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  rule_id: Type.Union([Type.String({ format: 'uuid' }), Type.Null()]),
  fingerprint: Type.String(),
  name: Type.String(),
  type: Type.String(),
  severity: Type.String(),
  message: Type.String(),
  source: Type.String(),
  service_name: Type.Union([Type.String(), Type.Null()]),
  labels: Type.Record(Type.String(), Type.String()),
  annotations: Type.Record(Type.String(), Type.String()),
  status: Type.String({ description: 'pending | firing | resolved' }),
  value: Type.Union([Type.Number(), Type.Null()], { description: 'null as well when the value is not finite (see non_finite)' }),
  resolved: Type.Boolean(),
  acknowledged: Type.Boolean(),
  starts_at: Type.String({ format: 'date-time' }),
  fired_at: nullableTime,
  acknowledged_at: nullableTime,
  acknowledged_by: Type.Union([Type.String(), Type.Null()]),
  resolved_at: nullableTime,
  resolved_by: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
  /** A rule over a sum past the double range has an infinite value: null above, spelled here. */
  non_finite: NonFiniteFieldsSchema,
});

const iso = (date: Date | null) => (date === null ? null : date.toISOString());

export function toAlertJson(row: AlertRow) {
  const flags: NonFiniteFields = {};
  const value = row.value === null ? null : finiteOrNull(row.value, 'value', flags);
  return {
    id: row.id, rule_id: row.rule_id, fingerprint: row.fingerprint, name: row.name, type: row.type, severity: row.severity, message: row.message, source: row.source,
    service_name: row.service_name, labels: row.labels, annotations: row.annotations, status: row.status, value, resolved: row.resolved,
    acknowledged: row.acknowledged_at !== null, starts_at: row.starts_at.toISOString(), fired_at: iso(row.fired_at), acknowledged_at: iso(row.acknowledged_at),
    acknowledged_by: row.acknowledged_by, resolved_at: iso(row.resolved_at), resolved_by: row.resolved_by, created_at: row.created_at.toISOString(), updated_at: row.updated_at.toISOString(),
    ...nonFiniteMember(flags),
  };
}
