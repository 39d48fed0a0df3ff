import type { QueryObserver } from '../platform/db/index.js';
import type { Catalogue } from './catalogue.js';

export interface QueryShape {
  operation: string;
  table: string;
}

const KEYWORD = /^\s*(?:--[^\n]*\n\s*)*([a-z]+)/i;
const IDENT = '("?[a-z_][a-z0-9_]*"?)';
const INSERT_TARGET = new RegExp(`\\binto\\s+${IDENT}`, 'i');
const UPDATE_TARGET = new RegExp(`\\bupdate\\s+${IDENT}\\s+set\\b`, 'i');
const SOURCES = new RegExp(`\\b(?:from|join)\\s+${IDENT}`, 'gi');
const CTE_NAMES = /(?:\bwith(?:\s+recursive)?|,)\s*([a-z_][a-z0-9_]*)\s+as\s*\(/gi;
const SQL_WORDS = new Set(['unnest', 'generate_series', 'lateral', 'jsonb_each_text', 'jsonb_object_keys', 'jsonb_array_elements', 'select', 'only']);
const OPERATIONS = new Set(['select', 'insert', 'update', 'delete', 'call', 'do']);

/** Set-returning functions that stand for a table: the samples of a time range are the metrics. */
const TABLE_FUNCTIONS: Record<string, string> = { metric_samples_in: 'metrics' };
const clean = (raw: string | undefined) => {
  const name = raw?.replaceAll('"', '').toLowerCase();
  return name === undefined ? undefined : (TABLE_FUNCTIONS[name] ?? name);
};

/**
 * Operation and main table of a statement, for the `db_query_duration_ms` labels: the target
 * of a write, or the first real table a read scans (CTE names and set-returning functions are
 * skipped). Statements are the repositories' constant templates, so a bounded memo makes this
 * a map lookup.
 */
export function queryShape(sql: string): QueryShape {
  const keyword = (KEYWORD.exec(sql)?.[1] ?? 'other').toLowerCase();
  const operation = keyword === 'with' ? withOperation(sql) : OPERATIONS.has(keyword) ? keyword : 'other';
  let table: string | undefined;
  if (operation === 'insert') table = clean(INSERT_TARGET.exec(sql)?.[1]);
  else if (operation === 'update') table = clean(UPDATE_TARGET.exec(sql)?.[1]);
  else if (operation === 'delete') table = clean(/\bdelete\s+from\s+("?[a-z_][a-z0-9_]*"?)/i.exec(sql)?.[1]);
  else if (operation === 'select') {
    const ctes = new Set([...sql.matchAll(CTE_NAMES)].map((match) => (match[1] ?? '').toLowerCase()));
    // `extract(epoch FROM x)` and `substring(x FROM n)` are not table references.
    const scanned = sql.replace(/\b(extract|substring|trim)\s*\([^()]*?\bfrom\b/gi, '$1(');
    table = [...scanned.matchAll(SOURCES)].map((match) => clean(match[1])).find((name) => name !== undefined && !ctes.has(name) && !SQL_WORDS.has(name));
  }
  return { operation, table: table === undefined || SQL_WORDS.has(table) ? 'none' : table };
}

/** A CTE statement that writes (`WITH x AS (INSERT ...)`) is named for its first write, else for its final statement. */
function withOperation(sql: string): string {
  const write = /\b(insert)\s+into\b|\b(update)\s+"?[a-z_][a-z0-9_]*"?\s+set\b|\b(delete)\s+from\b/i.exec(sql);
  if (write !== null) return (write[1] ?? write[2] ?? write[3] ?? 'other').toLowerCase();
  const last = /\)\s*(select|insert|update|delete)\b[^()]*$/i.exec(sql.replace(/\s+/g, ' '));
  return (last?.[1] ?? 'select').toLowerCase();
}

export function createQueryTimer(catalogue: Pick<Catalogue, 'dbQueryDurationMs'>, memoSize = 2_000): QueryObserver {
  const memo = new Map<string, QueryShape>();
  return (sql, durationMs) => {
    let shape = memo.get(sql);
    if (shape === undefined) {
      shape = queryShape(sql);
      // Ad-hoc SQL must not grow the memo without bound: start over when full.
      if (memo.size >= memoSize) memo.clear();
      memo.set(sql, shape);
    }
    catalogue.dbQueryDurationMs.observe(shape, durationMs);
  };
}
