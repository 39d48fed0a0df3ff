import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seriesKeyOf } from '../../src/metrics/sample.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../support/app.js';
import { insertStoredSamples } from '../support/stored-samples.js';

const STEP = 60_000;
const ML_ENV = { ANOMALY_TRAINING_EPOCHS: '8', ANOMALY_TRAINING_MIN_SAMPLES: '50', ANOMALY_TRAINING_BATCH_SIZE: '64' };

/** Deterministic wavy series (no randomness: the test must repeat). */
const wave = (i: number) => 100 + 10 * Math.sin(i / 15) + 2 * Math.sin(i * 12.9898) * Math.cos(i * 78.233);

function samples(name: string, values: readonly number[], startMs: number) {
  return values.map((value, i) => ({ name, service: 'payment', value, timestamp: new Date(startMs + i * STEP).toISOString() }));
}

let t: TestApp;
let dataDir: string;
beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'ml-anomaly-'));
  t = await createTestApp({ env: { ...ML_ENV, DATA_DIR: dataDir } });
});
afterAll(async () => {
  await t.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function anomaliesOf(tenant: string, name: string) {
  const response = await t.app.inject({ method: 'GET', url: `/api/v1/analytics/anomalies?metric_name=${name}&service_name=payment`, headers: await bearer(tenant, ['viewer']) });
  expect(response.statusCode).toBe(200);
  return response.json<{ data: Array<{ timestamp: string; score: number; detector: string; model_score: number | null }> }>().data;
}

async function anomalyAlerts(tenant: string) {
  const result = await t.container.db.withTenant(tenant, (tx) => tx.query<{ fingerprint: string; type: string; status: string }>(`SELECT fingerprint, type, status FROM alerts WHERE tenant_id = $1 AND type = 'anomaly'`, [tenant]));
  return result.rows;
}

describe('live anomaly scoring', () => {
  it('an injected spike is stored as an anomaly and raises an anomaly alert', async () => {
    const tenant = newTenant();
    const start = Date.now() - 600 * STEP;
    const values = Array.from({ length: 500 }, (_, i) => wave(i));
    values[450] = 180;
    await t.container.ingest.ingest(tenant, samples('latency_ms', values.slice(0, 300), start), 'internal');
    await t.container.ingest.ingest(tenant, samples('latency_ms', values.slice(300), start + 300 * STEP), 'internal');
    await t.container.ml.anomalies.idle();

    const found = await anomaliesOf(tenant, 'latency_ms');
    const spikeAt = new Date(start + 450 * STEP).toISOString();
    expect(found.map((a) => a.timestamp)).toContain(spikeAt);
    expect(found.find((a) => a.timestamp === spikeAt)?.score).toBeGreaterThan(0.7);
    const alerts = await anomalyAlerts(tenant);
    expect(alerts).toEqual([{ fingerprint: `anomaly:${seriesKeyOf('latency_ms', 'payment', {})}`, type: 'anomaly', status: 'firing' }]);
  });

  it('a level shift is detected within a few samples', async () => {
    const tenant = newTenant();
    const start = Date.now() - 1400 * STEP;
    const values = Array.from({ length: 1300 }, (_, i) => wave(i) + (i >= 1250 ? 30 : 0));
    await t.container.ingest.ingest(tenant, samples('queue_depth', values, start), 'internal');
    await t.container.ml.anomalies.idle();
    const found = await anomaliesOf(tenant, 'queue_depth');
    const shiftRows = found.map((a) => (Date.parse(a.timestamp) - start) / STEP).filter((row) => row >= 1250);
    expect(shiftRows.length).toBeGreaterThan(0);
    expect(Math.min(...shiftRows)).toBeLessThan(1256);
    expect((await anomalyAlerts(tenant)).length).toBe(1);
  });

  it('a series learns its past from the database when first scored by this instance', async () => {
    const tenant = newTenant();
    const start = Date.now() - 600 * STEP;
    const values = Array.from({ length: 400 }, (_, i) => wave(i));
    // Stored without scoring (as by another instance), then one spike arrives here.
    for (const name of ['cpu_pct', 'mem_pct']) {
      await t.container.db.withTenant(tenant, (tx) => insertStoredSamples(tx, tenant, values.map((value, i) => ({ name, service: 'payment', value, at: new Date(start + i * STEP) }))));
    }
    // One batch of both series (each learns its own past) and a normal value after each spike.
    await t.container.ingest.ingest(tenant, [...samples('cpu_pct', [175, wave(401)], start + 400 * STEP), ...samples('mem_pct', [wave(400), 20], start + 400 * STEP)], 'internal');
    await t.container.ml.anomalies.idle();
    const found = await anomaliesOf(tenant, 'cpu_pct');
    expect(found).toHaveLength(1);
    expect(found[0]?.score).toBeGreaterThan(0.7);
    const memory = await anomaliesOf(tenant, 'mem_pct');
    expect(memory.map((a) => a.timestamp)).toEqual([new Date(start + 401 * STEP).toISOString()]);
  });

  it('refuses a bad anomaly query with a validation error', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/anomalies?limit=0', headers: await bearer(newTenant(), ['viewer']) });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('VALIDATION_FAILED');
  });
});

describe('scoring queue', () => {
  it('a batch beyond ANOMALY_QUEUE_MAX is stored but not scored, and GET /status counts it', async () => {
    const small = await createTestApp({ env: { ANOMALY_QUEUE_MAX: '5' } });
    try {
      const tenant = newTenant();
      const accepted = await small.app.inject({ method: 'POST', url: '/api/v1/monitoring/metrics', headers: await bearer(tenant, ['monitoring']), payload: { metrics: samples('queue_probe', Array.from({ length: 10 }, (_, i) => wave(i)), Date.now() - 20 * STEP) } });
      expect(accepted.statusCode).toBe(202);
      await small.container.ml.anomalies.idle();
      const status = await small.app.inject({ method: 'GET', url: '/status' });
      expect(status.json<{ anomaly_scoring: { dropped: number; scored: number } }>().anomaly_scoring).toMatchObject({ dropped: 10, scored: 0 });
      const stored = await small.app.inject({ method: 'GET', url: '/api/v1/monitoring/metrics?name=queue_probe', headers: await bearer(tenant, ['viewer']) });
      expect(stored.json<{ data: unknown[] }>().data).toHaveLength(10);
    } finally {
      await small.close();
    }
  });
});

describe('autoencoder models', () => {
  it('trains in the worker, stores a version, scores new samples with it and survives a restart', async () => {
    const tenant = newTenant();
    const start = Date.now() - 700 * STEP;
    await t.container.ingest.ingest(tenant, samples('orders_per_min', Array.from({ length: 300 }, (_, i) => wave(i)), start), 'internal');
    await t.container.ml.anomalies.idle();

    const admin = await bearer(tenant, ['admin']);
    const trained = await t.app.inject({ method: 'POST', url: '/api/v1/analytics/anomalies/models', headers: admin, payload: { metric_name: 'orders_per_min', service_name: 'payment' } });
    expect(trained.statusCode).toBe(201);
    const body = trained.json<{ version: number; samples: number; windows: number; final_loss: number; initial_loss: number; served_by: string; backtest: { held_out: number; injected: number; served_by: string; robust: { detection_rate: number; false_alarm_rate: number }; combined: { detection_rate: number; false_alarm_rate: number } } }>();
    expect(body.version).toBe(1);
    expect(body.samples).toBe(300);
    // The newest 60 samples are held out for the backtest: 240 train, in 231 windows of 10.
    expect(body.windows).toBe(231);
    expect(body.final_loss).toBeLessThan(body.initial_loss);
    // The robust detector already catches the spike injected into the held-out 60 without a false alarm:
    // the autoencoder cannot add anything, so it does not join (its score is still computed and stored).
    expect(body.backtest).toMatchObject({ held_out: 60, injected: 2, robust: { detection_rate: 1, false_alarm_rate: 0 }, served_by: 'robust' });
    const gain = (q: { detection_rate: number; false_alarm_rate: number }) => q.detection_rate - q.false_alarm_rate;
    expect(body.served_by).toBe(gain(body.backtest.combined) > gain(body.backtest.robust) ? 'robust+autoencoder' : 'robust');
    expect(body.backtest.served_by).toBe(body.served_by);

    // While the model trains, requests are answered (training runs in a worker thread).
    let trainingDone = false;
    const training = t.app.inject({ method: 'POST', url: '/api/v1/analytics/anomalies/models', headers: admin, payload: { metric_name: 'orders_per_min', service_name: 'payment' } }).then((response) => {
      trainingDone = true;
      return response;
    });
    const during = await t.app.inject({ method: 'GET', url: '/api/v1/analytics/models', headers: await bearer(tenant, ['viewer']) });
    expect(during.statusCode).toBe(200);
    expect(trainingDone).toBe(false);
    const again = await training;
    expect(again.json().version).toBe(2);

    await t.container.ingest.ingest(tenant, samples('orders_per_min', [wave(300), 400], start + 300 * STEP), 'internal');
    await t.container.ml.anomalies.idle();
    const found = await anomaliesOf(tenant, 'orders_per_min');
    const spike = found.find((a) => a.timestamp === new Date(start + 301 * STEP).toISOString());
    expect(spike?.model_score).toBeGreaterThan(0.5);

    // Embedded, DATA_DIR keeps the database across the restart; on PostgreSQL it is the server's.
    await t.close();
    t = await createTestApp({ env: { ...ML_ENV, DATA_DIR: dataDir } });
    const restored = t.container.ml.models.cached(tenant, 'anomaly-autoencoder', seriesKeyOf('orders_per_min', 'payment', {}));
    expect(restored?.version).toBe(2);
  }, 180_000);

  it('refuses to train a series without enough history, storing nothing', async () => {
    const tenant = newTenant();
    await t.container.ingest.ingest(tenant, samples('tiny', [1, 2, 3], Date.now() - 10 * STEP), 'internal');
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/analytics/anomalies/models', headers: await bearer(tenant, ['admin']), payload: { metric_name: 'tiny', service_name: 'payment' } });
    expect(response.statusCode).toBe(422);
    expect(response.json().error.code).toBe('INSUFFICIENT_HISTORY');
    const models = await t.container.db.withTenant(tenant, (tx) => tx.query('SELECT 1 FROM ml_models WHERE tenant_id = $1', [tenant]));
    expect(models.rowCount).toBe(0);
  });

  it('only admins train models', async () => {
    const response = await t.app.inject({ method: 'POST', url: '/api/v1/analytics/anomalies/models', headers: await bearer(newTenant(), ['viewer']), payload: { metric_name: 'x', service_name: 'y' } });
    expect(response.statusCode).toBe(403);
  });
});
