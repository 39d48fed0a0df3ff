import type { QueryObserver } from '../platform/db/index.js';
import type { Catalogue } from './catalogue.js';

export interface QueryShape {
  operation: string;
  table: string;
}

const KEYWORD = /^\s*(?:--[^\n]*\n\s*)*([a-z]+)/i;
const TARGET: Record<string, RegExp> = {
  insert: /\binto\s+("?[a-z_][a-z0-9_]*"?)/i,
  update: /^\s*update\s+("?[a-z_][a-z0-9_]*"?)/i,
  delete: /\bfrom\s+("?[a-z_][a-z0-9_]*"?)/i,
  select: /\bfrom\s+("?[a-z_][a-z0-9_]*"?)/i,
};
const SQL_WORDS = new Set(['unnest', 'generate_series', 'lateral', 'jsonb_each_text', 'jsonb_array_elements', 'select']);

/**
 * Operation and main table of a statement, for the `db_query_duration_ms` labels. Statements
 * are the repositories' constant templates, so a bounded memo makes this a map lookup.
 */
export function queryShape(sql: string): QueryShape {
  const keyword = (KEYWORD.exec(sql)?.[1] ?? 'other').toLowerCase();
  const operation = keyword === 'with' ? withOperation(sql) : keyword in TARGET ? keyword : keyword === 'call' || keyword === 'do' ? keyword : 'other';
  const pattern = TARGET[operation];
  const raw = pattern?.exec(sql)?.[1]?.replaceAll('"', '').toLowerCase();
  const table = raw === undefined || SQL_WORDS.has(raw) ? 'none' : raw;
  return { operation, table };
}

/** A CTE statement is named for the statement that follows its definitions. */
function withOperation(sql: string): string {
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
