/** The database port. Queries run only inside withTenant or asSystem, as the application role. */
export type Row = Record<string, unknown>;

export interface QueryResult<R extends object = Row> {
  rows: R[];
  rowCount: number;
}

/** The only handle a repository gets: a transaction bound to one tenant (or to system work). */
export interface Tx {
  query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

export type DbKind = 'pglite' | 'postgres';

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export interface Db {
  readonly kind: DbKind;
  withTenant<T>(tenantId: string, work: (tx: Tx) => Promise<T>): Promise<T>;
  asSystem<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  ping(): Promise<void>;
  poolStats(): PoolStats;
  close(): Promise<void>;
}

/** Called after every statement; lets the metrics domain time queries without touching adapters. */
export type QueryObserver = (sql: string, durationMs: number, failed: boolean) => void;

/** Tenant work: sees the rows of `app.current_tenant_id` only, whatever else it sets. */
export const APP_ROLE = 'monitoring_app';
/** Cross-tenant work (jobs): sees every row. */
export const SYSTEM_ROLE = 'monitoring_system';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/**
 * Statements that scope a transaction: the role first (tenant work or system work, never decided
 * by a setting the role could change itself), then the tenant.
 */
export function scopeStatements(tenantId: string | null): { role: string; sql: string; params: string[]; begin: string } {
  if (tenantId !== null && !isUuid(tenantId)) throw new TypeError(`tenant id is not a uuid: ${tenantId}`);
  const role = tenantId === null ? SYSTEM_ROLE : APP_ROLE;
  return {
    role,
    sql: "SELECT set_config('app.current_tenant_id', $1, true)",
    params: [tenantId ?? ''],
    // The same, with BEGIN, as one simple query: one round trip instead of three (the id is a
    // checked UUID, so it is safe as a literal). Each round trip waits for a turn of the event loop.
    begin: `BEGIN; SET LOCAL ROLE ${role}; SELECT set_config('app.current_tenant_id', '${tenantId ?? ''}', true)`,
  };
}

export function observe(tx: Tx, observer: QueryObserver | undefined): Tx {
  if (observer === undefined) return tx;
  return {
    async query<R extends object = Row>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>> {
      const started = performance.now();
      try {
        const result = await tx.query<R>(sql, params);
        observer(sql, performance.now() - started, false);
        return result;
      } catch (error) {
        observer(sql, performance.now() - started, true);
        throw error;
      }
    },
  };
}
