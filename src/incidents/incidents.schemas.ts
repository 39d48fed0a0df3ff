import { Type, type TSchema } from '@sinclair/typebox';
import { INCIDENT_SEVERITIES, INCIDENT_STATUSES, type IncidentRow, type TimelineRow } from './incidents.repository.js';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const StatusSchema = Type.Union(INCIDENT_STATUSES.map((status) => Type.Literal(status)));
export const SeveritySchema = Type.Union(INCIDENT_SEVERITIES.map((severity) => Type.Literal(severity)));
const OpenStatusSchema = Type.Union(INCIDENT_STATUSES.filter((status) => status !== 'resolved').map((status) => Type.Literal(status)));

export const TimelineEntrySchema = Type.Object({
  id: Type.String(),
  kind: Type.String(),
  message: Type.String(),
  author: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown()),
  created_at: Type.String({ format: 'date-time' }),
});

export const IncidentSchema = Type.Object({
  id: Type.String(),
  title: Type.String(),
  description: Nullable(Type.String()),
  status: StatusSchema,
  severity: SeveritySchema,
  service_name: Nullable(Type.String()),
  alert_id: Nullable(Type.String()),
  created_by: Type.String(),
  resolution: Nullable(Type.String()),
  started_at: Type.String({ format: 'date-time' }),
  resolved_at: Nullable(Type.String({ format: 'date-time' })),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

export const IncidentWithTimelineSchema = Type.Object({ ...IncidentSchema.properties, timeline: Type.Array(TimelineEntrySchema) });

export const CreateIncidentSchema = Type.Object(
  {
    title: Type.String({ minLength: 1, maxLength: 300 }),
    description: Type.Optional(Type.String({ maxLength: 10_000 })),
    severity: SeveritySchema,
    status: Type.Optional(OpenStatusSchema),
    service_name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    alert_id: Type.Optional(Type.String({ format: 'uuid' })),
    started_at: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);

export const UpdateIncidentSchema = Type.Object(
  {
    title: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
    description: Type.Optional(Nullable(Type.String({ maxLength: 10_000 }))),
    status: Type.Optional(StatusSchema),
    severity: Type.Optional(SeveritySchema),
    service_name: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 100 }))),
  },
  { additionalProperties: false, minProperties: 1 },
);

export const IdParams = Type.Object({ id: Type.String({ format: 'uuid' }) });

const iso = (value: Date) => value.toISOString();

export function incidentJson(row: IncidentRow) {
  return { ...row, started_at: iso(row.started_at), resolved_at: row.resolved_at === null ? null : iso(row.resolved_at), created_at: iso(row.created_at), updated_at: iso(row.updated_at) };
}

export function timelineJson(row: TimelineRow) {
  return { ...row, created_at: iso(row.created_at) };
}
