import type { Clock } from '../platform/clock.js';
import type { Db, Tx } from '../platform/db/index.js';
import type { ModelArtifacts, WeightSpec } from './tf/artifacts.js';

export type ModelKind = 'anomaly-autoencoder' | 'fraud' | 'sellout';

export interface StoredModel {
  id: string;
  tenantId: string;
  kind: ModelKind;
  key: string;
  version: number;
  artifacts: ModelArtifacts;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  trainedAt: Date;
}

interface ModelRow {
  id: string;
  tenant_id: string;
  kind: ModelKind;
  model_key: string;
  version: number;
  topology: unknown;
  weight_specs: WeightSpec[];
  weights: Uint8Array;
  params: Record<string, unknown>;
  metrics: Record<string, unknown>;
  trained_at: Date;
}

const COLUMNS = 'id, tenant_id, kind, model_key, version, topology, weight_specs, weights, params, metrics, trained_at';

const toModel = (row: ModelRow): StoredModel => ({
  id: row.id,
  tenantId: row.tenant_id,
  kind: row.kind,
  key: row.model_key,
  version: row.version,
  // pg gives a Buffer, PGlite a Uint8Array: both are Uint8Array views.
  artifacts: { topology: row.topology, weightSpecs: row.weight_specs, weights: new Uint8Array(row.weights) },
  params: row.params,
  metrics: row.metrics,
  trainedAt: row.trained_at,
});

const cacheKey = (tenantId: string, kind: ModelKind, key: string) => `${tenantId}|${kind}|${key}`;

export interface ModelStore {
  save(tenantId: string, model: { kind: ModelKind; key: string; artifacts: ModelArtifacts; params: Record<string, unknown>; metrics: Record<string, unknown>; trainedAt: Date }): Promise<StoredModel>;
  /** Latest version: from memory when checked within the refresh period, else the database's newest. */
  latest(tenantId: string, kind: ModelKind, key: string): Promise<StoredModel | undefined>;
  /** Latest version if it is already in memory (no I/O: for hot paths). */
  cached(tenantId: string, kind: ModelKind, key: string): StoredModel | undefined;
  list(tenantId: string, kind?: ModelKind): Promise<Array<Omit<StoredModel, 'artifacts'>>>;
  /** Loads the latest version of every model of every tenant into memory. */
  loadAll(): Promise<number>;
}

/**
 * Versioned model storage: every training adds a version; readers use the latest. What this instance
 * knows (a model, or that there is none) is trusted for `refreshMs`; after that `latest` asks the
 * database for the newest version number, so a model another instance trained is picked up and a
 * tenant without a model costs one small query per period, not one per call.
 */
export function createModelStore(db: Db, options: { clock: Clock; refreshMs: number }): ModelStore {
  const memory = new Map<string, { model: StoredModel | undefined; checkedAt: number }>();
  const remember = (key: string, model: StoredModel | undefined) => memory.set(key, { model, checkedAt: options.clock.nowMs() });

  const insert = async (tx: Tx, tenantId: string, model: Parameters<ModelStore['save']>[1]) => {
    const result = await tx.query<ModelRow>(
      `INSERT INTO ml_models (tenant_id, kind, model_key, version, topology, weight_specs, weights, params, metrics, trained_at)
       SELECT $1, $2, $3, COALESCE(MAX(version), 0) + 1, $4, $5, $6, $7, $8, $9 FROM ml_models WHERE tenant_id = $1 AND kind = $2 AND model_key = $3
       RETURNING ${COLUMNS}`,
      [tenantId, model.kind, model.key, JSON.stringify(model.artifacts.topology), JSON.stringify(model.artifacts.weightSpecs), model.artifacts.weights, JSON.stringify(model.params), JSON.stringify(model.metrics), model.trainedAt],
    );
    const row = result.rows[0];
    if (row === undefined) throw new Error('model insert returned nothing');
    return toModel(row);
  };

  return {
    async save(tenantId, model) {
      const stored = await db.withTenant(tenantId, async (tx) => {
        // Serialise versions of one model: concurrent trainings must not pick the same number.
        await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [cacheKey(tenantId, model.kind, model.key)]);
        return insert(tx, tenantId, model);
      });
      remember(cacheKey(tenantId, stored.kind, stored.key), stored);
      return stored;
    },
    async latest(tenantId, kind, key) {
      const cacheId = cacheKey(tenantId, kind, key);
      const known = memory.get(cacheId);
      if (known !== undefined && options.clock.nowMs() - known.checkedAt < options.refreshMs) return known.model;
      const model = await db.withTenant(tenantId, async (tx) => {
        const newest = await tx.query<{ version: number }>('SELECT version FROM ml_models WHERE tenant_id = $1 AND kind = $2 AND model_key = $3 ORDER BY version DESC LIMIT 1', [tenantId, kind, key]);
        const version = newest.rows[0]?.version;
        // Weights are read only when the version changed.
        if (version === undefined || version === known?.model?.version) return version === undefined ? undefined : known?.model;
        const result = await tx.query<ModelRow>(`SELECT ${COLUMNS} FROM ml_models WHERE tenant_id = $1 AND kind = $2 AND model_key = $3 AND version = $4`, [tenantId, kind, key, version]);
        const row = result.rows[0];
        return row === undefined ? undefined : toModel(row);
      });
      remember(cacheId, model);
      return model;
    },
    cached: (tenantId, kind, key) => memory.get(cacheKey(tenantId, kind, key))?.model,
    async list(tenantId, kind) {
      const result = await db.withTenant(tenantId, (tx) =>
        tx.query<Omit<ModelRow, 'topology' | 'weight_specs' | 'weights'>>(
          `SELECT id, tenant_id, kind, model_key, version, params, metrics, trained_at FROM ml_models
           WHERE tenant_id = $1 AND ($2::text IS NULL OR kind = $2) ORDER BY kind, model_key, version DESC`,
          [tenantId, kind ?? null],
        ),
      );
      return result.rows.map((row) => ({ id: row.id, tenantId: row.tenant_id, kind: row.kind, key: row.model_key, version: row.version, params: row.params, metrics: row.metrics, trainedAt: row.trained_at }));
    },
    async loadAll() {
      const result = await db.asSystem((tx) =>
        tx.query<ModelRow>(`SELECT DISTINCT ON (tenant_id, kind, model_key) ${COLUMNS} FROM ml_models ORDER BY tenant_id, kind, model_key, version DESC`),
      );
      for (const row of result.rows) {
        const model = toModel(row);
        remember(cacheKey(model.tenantId, model.kind, model.key), model);
      }
      return result.rows.length;
    },
  };
}
