import { Type, type Static } from '@sinclair/typebox';

/** What a report reads. Each source has its own grouping choices; `hour`/`day` make a time series. */
export const REPORT_SOURCES = ['metrics', 'alerts', 'incidents', 'sla', 'sales'] as const;
type ReportSource = (typeof REPORT_SOURCES)[number];

export const GROUPINGS: Record<ReportSource, readonly string[]> = {
  metrics: ['hour', 'day', 'minute', 'service'],
  alerts: ['hour', 'day', 'severity', 'status', 'name', 'service'],
  incidents: ['hour', 'day', 'severity', 'status', 'service'],
  sla: ['day', 'service'],
  sales: ['hour', 'day', 'event', 'channel', 'currency'],
};

const ISO = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}(:\\d{2}(\\.\\d+)?)?(Z|[+-]\\d{2}:\\d{2})$';

/** A relative range (`last`: 90m, 24h, 7d, 4w) ending when the report runs, or fixed instants. */
export const RangeSchema = Type.Union([
  Type.Object({ last: Type.String({ pattern: '^[1-9][0-9]{0,3}[mhdw]$', description: 'e.g. 24h, 7d: ends when the report runs' }) }, { additionalProperties: false }),
  Type.Object({ from: Type.String({ pattern: ISO }), to: Type.String({ pattern: ISO }) }, { additionalProperties: false }),
]);
export type Range = Static<typeof RangeSchema>;

export const ReportQuerySchema = Type.Object(
  {
    source: Type.Union(REPORT_SOURCES.map((source) => Type.Literal(source))),
    range: RangeSchema,
    /** How rows are grouped; absent = one row per record (metrics: per hour). */
    group_by: Type.Optional(Type.String({ pattern: '^[a-z]+$' })),
    /** metrics: the series to report (required for metrics). */
    metric_name: Type.Optional(Type.String({ pattern: '^[a-zA-Z_:][a-zA-Z0-9_:]*$', maxLength: 200 })),
    /** metrics, alerts, incidents, sla: only this service. */
    service: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    /** alerts, incidents: only this severity. */
    severity: Type.Optional(Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('error'), Type.Literal('critical')])),
  },
  { additionalProperties: false },
);
export type ReportQuery = Static<typeof ReportQuerySchema>;

export const FORMATS = ['csv', 'json', 'pdf'] as const;
export type ReportFormat = (typeof FORMATS)[number];

export const ReportBodySchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    query: ReportQuerySchema,
    format: Type.Union(FORMATS.map((format) => Type.Literal(format))),
    /** `daily` (00:00 UTC), `weekly` (Monday 00:00 UTC), a 5-field cron expression (UTC), or null for on-demand only. */
    schedule: Type.Union([Type.String({ minLength: 1, maxLength: 100 }), Type.Null()], { default: null }),
    recipients: Type.Array(Type.String({ format: 'email', maxLength: 254 }), { maxItems: 50, default: [] }),
    enabled: Type.Boolean({ default: true }),
  },
  { additionalProperties: false },
);
export type ReportBody = Static<typeof ReportBodySchema>;

export const ReportSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  query: ReportQuerySchema,
  format: Type.Union(FORMATS.map((format) => Type.Literal(format))),
  schedule: Type.Union([Type.String(), Type.Null()]),
  recipients: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  next_run_at: Type.Union([Type.String(), Type.Null()]),
  last_run_at: Type.Union([Type.String(), Type.Null()]),
  user_id: Type.String(),
  created_at: Type.String(),
  updated_at: Type.String(),
});

export const HistorySchema = Type.Object({
  id: Type.String(),
  report_id: Type.String(),
  trigger: Type.Union([Type.Literal('schedule'), Type.Literal('manual')]),
  status: Type.Union([Type.Literal('running'), Type.Literal('succeeded'), Type.Literal('failed')]),
  scheduled_for: Type.Union([Type.String(), Type.Null()]),
  generated_at: Type.String(),
  range_from: Type.Union([Type.String(), Type.Null()]),
  range_to: Type.Union([Type.String(), Type.Null()]),
  format: Type.Union([Type.String(), Type.Null()]),
  file_url: Type.Union([Type.String(), Type.Null()]),
  row_count: Type.Union([Type.Integer(), Type.Null()]),
  byte_size: Type.Union([Type.Integer(), Type.Null()]),
  error: Type.Union([Type.String(), Type.Null()]),
  email_status: Type.Union([Type.String(), Type.Null()]),
  email_error: Type.Union([Type.String(), Type.Null()]),
  emailed_at: Type.Union([Type.String(), Type.Null()]),
});
