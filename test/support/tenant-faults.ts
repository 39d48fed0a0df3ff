import type { Db, Row, Tx } from '../../src/platform/db/index.js';

/**
 * Makes the app's database fail one tenant's work, as a row the database refuses or a lock
 * timeout would: every transaction of the tenant (or, with `when`, only its statements that
 * match) is rejected. The services hold the same Db object, so they see it. Returns the undo.
 */
export function failTenant(db: Db, tenantId: string, when?: (sql: string) => boolean): () => void {
  const original = db.withTenant.bind(db);
  const error = () => new Error(`injected failure of tenant ${tenantId}`);
  const failing = (tx: Tx): Tx => ({
    query: <R extends object = Row>(sql: string, params?: readonly unknown[]) => (when?.(sql) === true ? Promise.reject(error()) : tx.query<R>(sql, params)),
  });
  const patched: Db['withTenant'] = (id, work) => {
    if (id !== tenantId) return original(id, work);
    return when === undefined ? Promise.reject(error()) : original(id, (tx) => work(failing(tx)));
  };
  Object.assign(db, { withTenant: patched });
  return () => {
    Object.assign(db, { withTenant: original });
  };
}

/** Makes the app's cross-tenant (system) statements that match fail; returns the undo. */
export function failSystemStatements(db: Db, when: (sql: string) => boolean): () => void {
  const original = db.asSystem.bind(db);
  const patched: Db['asSystem'] = (work) =>
    original((tx) =>
      work({
        query: <R extends object = Row>(sql: string, params?: readonly unknown[]) => (when(sql) ? Promise.reject(new Error('injected failure of a system statement')) : tx.query<R>(sql, params)),
      }),
    );
  Object.assign(db, { asSystem: patched });
  return () => {
    Object.assign(db, { asSystem: original });
  };
}
