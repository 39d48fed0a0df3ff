import type { SampleSource } from '../metrics/index.js';
import { AppError, ValidationError } from '../errors.js';
import type { Tx } from '../platform/db/index.js';
import { finiteMean, finiteSum } from '../platform/db/finite-aggregates.js';
import type { ResolvedRange } from './report-range.js';
import { GROUPINGS, type ReportQuery } from './report.schema.js';

export type Cell = string | number | null;

export interface ReportData {
  columns: string[];
  /** A number may be +/-Infinity (a sum past the double range): each renderer writes it its way. */
  rows: Array<Record<string, Cell>>;
  /** The main series, drawn in PDF reports (finite values only). */
  chart: { title: string; kind: 'line' | 'bar'; points: Array<{ label: string; value: number }> };
}

/** Checks the parts of a query a schema cannot: grouping per source, required fields. */
export function validateQuery(query: ReportQuery): void {
  const allowed = GROUPINGS[query.source];
  if (query.group_by !== undefined && !allowed.includes(query.group_by)) {
    throw new ValidationError(`group_by for ${query.source} must be one of: ${allowed.join(', ')}`, { field: 'query.group_by', allowed });
  }
  if (query.source === 'metrics' && query.metric_name === undefined) throw new ValidationError('a metrics report needs query.metric_name', { field: 'query.metric_name' });
  if (query.metric_name !== undefined && query.source !== 'metrics') throw new ValidationError('query.metric_name applies to metrics reports only', { field: 'query.metric_name' });
  if (query.severity !== undefined && query.source !== 'alerts' && query.source !== 'incidents') throw new ValidationError('query.severity applies to alerts and incidents reports only', { field: 'query.severity' });
  if (query.service !== undefined && query.source === 'sales') throw new ValidationError('query.service does not apply to sales reports', { field: 'query.service' });
}

const TIME_BUCKETS = new Set(['minute', 'hour', 'day']);

interface Plan {
  sql: string;
  params: unknown[];
  columns: string[];
  chart: { title: string; column: string; kind: 'line' | 'bar' } | { title: string; countPerDay: string };
}

/** SQL built only from fixed fragments chosen by whitelisted names; every value is a parameter. */
async function plan(tx: Tx, tenantId: string, query: ReportQuery, range: ResolvedRange, limit: number, samples: SampleSource): Promise<Plan> {
  const params: unknown[] = [tenantId, range.from, range.to];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const group = query.group_by;
  const isTime = group !== undefined && TIME_BUCKETS.has(group);
  const timeKey = (column: string) => `date_trunc(${param(group)}, ${column}, 'UTC') AS bucket`;
  const finish = (sql: string) => `${sql} LIMIT ${param(limit + 1)}`;

  switch (query.source) {
    case 'metrics': {
      const by = group ?? 'hour';
      const key = by === 'service' ? 'service_name' : `date_trunc(${param(by)}, "timestamp", 'UTC') AS bucket`;
      const where = `tenant_id = $1 AND "timestamp" >= $2 AND "timestamp" < $3 AND metric_name = ${param(query.metric_name)}${query.service === undefined ? '' : ` AND service_name = ${param(query.service)}`}`;
      const source = await samples.from(tx, tenantId, { names: query.metric_name === undefined ? undefined : [query.metric_name], service: query.service, from: range.from, to: range.to }, params);
      // Sum and avg never raise on finite samples; a sum past the double range is +/-Infinity.
      const sql = finish(`SELECT ${key}, count(*)::int AS samples, ${finiteMean({ value: 'value' }, 'count(value)')} AS avg, min(value) AS min, max(value) AS max, ${finiteSum({ value: 'value' })} AS sum FROM ${source} m WHERE ${where} GROUP BY 1 ORDER BY 1`);
      const first = by === 'service' ? 'service_name' : 'bucket';
      return { sql, params, columns: [first, 'samples', 'avg', 'min', 'max', 'sum'], chart: { title: `${query.metric_name ?? ''} (average)`, column: 'avg', kind: by === 'service' ? 'bar' : 'line' } };
    }
    case 'alerts':
    case 'incidents': {
      const table = query.source;
      const time = table === 'alerts' ? 'starts_at' : 'started_at';
      const filters = `tenant_id = $1 AND ${time} >= $2 AND ${time} < $3${query.severity === undefined ? '' : ` AND severity = ${param(query.severity)}`}${query.service === undefined ? '' : ` AND service_name = ${param(query.service)}`}`;
      if (group === undefined) {
        const columns = table === 'alerts' ? ['id', 'name', 'severity', 'status', 'service_name', 'starts_at', 'resolved_at', 'message'] : ['id', 'title', 'severity', 'status', 'service_name', 'started_at', 'resolved_at'];
        return { sql: finish(`SELECT ${columns.join(', ')} FROM ${table} WHERE ${filters} ORDER BY ${time}, id`), params, columns, chart: { title: `${table} per day`, countPerDay: time } };
      }
      const column = { severity: 'severity', status: 'status', name: 'name', service: "COALESCE(service_name, '')" }[group] ?? 'severity';
      const key = isTime ? timeKey(time) : `${column} AS ${group}`;
      const first = isTime ? 'bucket' : group;
      return { sql: finish(`SELECT ${key}, count(*)::int AS count FROM ${table} WHERE ${filters} GROUP BY 1 ORDER BY 1`), params, columns: [first, 'count'], chart: { title: `${table} by ${group}`, column: 'count', kind: isTime ? 'line' : 'bar' } };
    }
    case 'sla': {
      const filters = `tenant_id = $1 AND period_start >= $2 AND period_start < $3${query.service === undefined ? '' : ` AND service_name = ${param(query.service)}`}`;
      if (group === undefined) {
        const columns = ['service_name', 'period_start', 'period_end', 'uptime_percentage', 'response_time_p95', 'target_uptime_percentage', 'target_response_time_ms', 'checks_total', 'violations'];
        const select = columns.map((column) => (column === 'violations' ? 'jsonb_array_length(violations) AS violations' : column)).join(', ');
        return { sql: finish(`SELECT ${select} FROM sla_metrics WHERE ${filters} ORDER BY period_start, service_name`), params, columns, chart: { title: 'uptime %', column: 'uptime_percentage', kind: 'line' } };
      }
      const key = group === 'service' ? 'service_name' : timeKey('period_start');
      const first = group === 'service' ? 'service_name' : 'bucket';
      const sql = finish(`SELECT ${key}, count(*)::int AS periods, avg(uptime_percentage) AS avg_uptime_percentage, max(response_time_p95) AS max_response_time_p95, sum(jsonb_array_length(violations))::int AS violations FROM sla_metrics WHERE ${filters} GROUP BY 1 ORDER BY 1`);
      return { sql, params, columns: [first, 'periods', 'avg_uptime_percentage', 'max_response_time_p95', 'violations'], chart: { title: 'average uptime %', column: 'avg_uptime_percentage', kind: group === 'service' ? 'bar' : 'line' } };
    }
    case 'sales': {
      const filters = 'tenant_id = $1 AND sold_at >= $2 AND sold_at < $3';
      if (group === undefined) {
        const columns = ['sale_id', 'event_id', 'tickets', 'amount_cents', 'currency', 'channel', 'sold_at'];
        return { sql: finish(`SELECT sale_id::text AS sale_id, event_id::text AS event_id, tickets::float8 AS tickets, amount_cents::float8 AS amount_cents, currency, channel, sold_at FROM sales WHERE ${filters} ORDER BY sold_at, sale_id`), params, columns, chart: { title: 'sales per day', countPerDay: 'sold_at' } };
      }
      const column = { event: 'event_id::text', channel: "COALESCE(channel, '')", currency: 'currency' }[group] ?? 'currency';
      const key = isTime ? timeKey('sold_at') : `${column} AS ${group}`;
      const first = isTime ? 'bucket' : group;
      const sql = finish(`SELECT ${key}, count(*)::int AS sales, sum(tickets)::float8 AS tickets, sum(amount_cents)::float8 AS amount_cents FROM sales WHERE ${filters} GROUP BY 1 ORDER BY 1`);
      return { sql, params, columns: [first, 'sales', 'tickets', 'amount_cents'], chart: { title: `revenue (cents) by ${group}`, column: 'amount_cents', kind: isTime ? 'line' : 'bar' } };
    }
  }
}

const cell = (value: unknown): Cell => {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
};

export async function runReportQuery(tx: Tx, tenantId: string, query: ReportQuery, range: ResolvedRange, maxRows: number, samples: SampleSource): Promise<ReportData> {
  const { sql, params, columns, chart } = await plan(tx, tenantId, query, range, maxRows, samples);
  const result = await tx.query<Record<string, unknown>>(sql, params);
  if (result.rows.length > maxRows) throw new AppError('BAD_REQUEST', `report has more than ${maxRows} rows (REPORT_MAX_ROWS); narrow the range or group the rows`, { details: { limit: maxRows } });
  const rows = result.rows.map((raw) => Object.fromEntries(columns.map((column) => [column, cell(raw[column])])));
  if ('countPerDay' in chart) {
    const perDay = new Map<string, number>();
    for (const row of rows) {
      const at = row[chart.countPerDay];
      if (typeof at === 'string') perDay.set(at.slice(0, 10), (perDay.get(at.slice(0, 10)) ?? 0) + 1);
    }
    return { columns, rows, chart: { title: chart.title, kind: 'line', points: [...perDay].sort(([a], [b]) => a.localeCompare(b)).map(([label, value]) => ({ label, value })) } };
  }
  const label = columns[0] ?? '';
  const points = rows.flatMap((row) => {
    const value = row[chart.column];
    return typeof value === 'number' && Number.isFinite(value) ? [{ label: String(row[label] ?? ''), value }] : [];
  });
  return { columns, rows, chart: { title: chart.title, kind: chart.kind, points } };
}
