/**
 * Analytics/ML benchmark: fraud precision and recall on a labelled synthetic set (rules alone vs
 * rules + trained network), fraud check latency and throughput, and request latency while a model
 * trains (in the worker thread vs on the main thread, the naive baseline).
 */
import { cpus, loadavg } from 'node:os';
import { blendedScore } from '../src/analytics/fraud/fraud-backtest.js';
import { featuresOf, evaluateRules, IpRanges } from '../src/analytics/fraud/fraud-rules.js';
import { denseForward, denseLayersOf } from '../src/ml/index.js';
import { runTraining } from '../src/ml/tf/models.js';
import { loadTf } from '../src/ml/tf/tf-runtime.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../test/support/app.js';
import { BENCH_DATABASE_URL } from './metrics-support.js';
import { syntheticSignals } from '../test/support/fraud.js';
import { percentile, writeSection } from './results.js';

const t = await createTestApp({ env: { FRAUD_TRAINING_EPOCHS: '60' } });
const lines: string[] = [];
const ms = (x: number) => x.toFixed(2);

// 1. Precision / recall on a labelled synthetic set (train on one seed, test on another).
const train = syntheticSignals(1500, 11);
const test = syntheticSignals(1500, 12);
const ranges = { vpn: new IpRanges([]), datacenter: new IpRanges([]) };
const trainFeatures = train.map((e) => featuresOf(e.signals, evaluateRules(e.signals, ranges)));
process.stderr.write('training fraud network\n');
const trained = await t.container.ml.trainer.train({ kind: 'fraud', features: trainFeatures, labels: train.map((e) => (e.fraud ? 1 : 0)), epochs: 60, batchSize: 32 });
const layers = denseLayersOf(trained.artifacts);
const weightPercent = t.container.config.FRAUD_MODEL_WEIGHT_PERCENT;
const threshold = t.container.config.FRAUD_STORE_SCORE;
const confusion = (flagged: (e: (typeof test)[number]) => boolean) => {
  let tp = 0, fp = 0, fn = 0;
  for (const e of test) {
    const f = flagged(e);
    if (f && e.fraud) tp++;
    else if (f) fp++;
    else if (e.fraud) fn++;
  }
  return { precision: tp / Math.max(1, tp + fp), recall: tp / Math.max(1, tp + fn) };
};
const rulesOnly = confusion((e) => evaluateRules(e.signals, ranges).score >= threshold);
const blended = confusion((e) => {
  const rules = evaluateRules(e.signals, ranges);
  const p = denseForward(layers, featuresOf(e.signals, rules))[0] ?? 0;
  return blendedScore(rules.score, p, weightPercent) >= threshold;
});
lines.push(
  `### Fraud detection quality (synthetic labelled set: ${train.length} training / ${test.length} test requests, ${test.filter((e) => e.fraud).length} fraudulent in test; flagged = risk >= ${threshold})`,
  '',
  '| detector | precision | recall |',
  '|---|---|---|',
  `| rules alone (baseline, audit weights) | ${rulesOnly.precision.toFixed(3)} | ${rulesOnly.recall.toFixed(3)} |`,
  `| rules + network (${weightPercent}% network, trained ${trained.attempts} run(s), loss ${trained.initialLoss.toFixed(3)} -> ${trained.finalLoss.toFixed(3)}) | ${blended.precision.toFixed(3)} | ${blended.recall.toFixed(3)} |`,
  '',
);

// 2. Check latency and throughput through HTTP (inject), with a trained model in use, on each database.
const payloads = test.map((e, i) => ({ ...e.signals, user_id: `bench-${i}` }));
const lowRisk = payloads.filter((p) => evaluateRules(p, ranges).score < threshold);
const highRisk = payloads.filter((p) => evaluateRules(p, ranges).score >= threshold);
let request = 0;
/** Every request is a new user unless `sameUsers`: a repeated high-risk user is deduplicated, not stored again. */
const payloadFor = (set: typeof payloads, i: number, sameUsers: boolean) => {
  const base = set[i % set.length] ?? payloads[0];
  request += 1;
  return sameUsers ? base : { ...base, user_id: `${base?.user_id ?? 'user'}-r${request}` };
};

async function fraudLatency(target: TestApp): Promise<string[]> {
  const tenant = newTenant();
  await target.container.ml.models.save(tenant, { kind: 'fraud', key: '', artifacts: trained.artifacts, params: { inputs: 10, servedBy: 'rules+network' }, metrics: {}, trainedAt: new Date() });
  const headers = await bearer(tenant, ['admin']);
  const check = (payload: unknown) => target.app.inject({ method: 'POST', url: '/api/v1/analytics/fraud/check', headers, payload: payload as Record<string, unknown> });
  const measure = async (set: typeof payloads, count: number, sameUsers = false): Promise<{ p50: number; p99: number; perSecond: number }> => {
    for (let i = 0; i < 100; i++) await check(payloadFor(set, i, sameUsers));
    const latencies: number[] = [];
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const response = await check(payloadFor(set, i, sameUsers));
      latencies.push(performance.now() - started);
      if (response.statusCode !== 200) throw new Error(`check failed: ${response.body}`);
    }
    latencies.sort((a, b) => a - b);
    await target.container.analytics.fraud.idle();
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < count) await check(payloadFor(set, next++, sameUsers));
      }),
    );
    // Publishing and alerting follow the response on the same thread: their work counts in the rate.
    await target.container.analytics.fraud.idle();
    return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), perSecond: count / ((performance.now() - started) / 1000) };
  };
  // The service function alone (rules + network + model lookup), without HTTP and auth.
  const direct: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const started = performance.now();
    await target.container.analytics.fraud.check(tenant, lowRisk[i % lowRisk.length] ?? { user_id: `clean-${i}` });
    direct.push(performance.now() - started);
  }
  direct.sort((a, b) => a - b);
  const low = await measure(lowRisk, 1500);
  const mixed = await measure(payloads, 800);
  const high = await measure(highRisk, 300);
  const repeated = await measure(highRisk.slice(0, 50).map((p, i) => ({ ...p, user_id: `repeat-${i}` })), 600, true);
  const db = target.container.db.kind === 'pglite' ? 'PGlite' : 'PostgreSQL';
  const row = (traffic: string, r: { p50: number; p99: number; perSecond: number }) => `| ${db} | ${traffic} | ${ms(r.p50)} ms | ${ms(r.p99)} ms | ${Math.round(r.perSecond)} checks/s |`;
  return [
    `| ${db} | low risk, service function only (no HTTP/auth, one at a time) | ${ms(percentile(direct, 50))} ms | ${ms(percentile(direct, 99))} ms | - |`,
    row('low risk (nothing stored)', low),
    row(`synthetic mix, every check a new user (${Math.round((100 * highRisk.length) / payloads.length)}% high risk: stored, published, alerted)`, mixed),
    row('high risk only, every check a new user (each stored, published, alerted)', high),
    row('high risk, the same 50 users again within the dedup window (nothing new stored)', repeated),
  ];
}

const latencyRows: string[] = [];
const loadAtStart = loadavg()[0] ?? 0;
for (const env of [{ DATABASE_URL: undefined }, { DATABASE_URL: BENCH_DATABASE_URL }]) {
  let target: TestApp;
  try {
    target = await createTestApp({ env });
  } catch (error) {
    process.stderr.write(`fraud latency on ${env.DATABASE_URL ?? 'PGlite'} skipped: ${error instanceof Error ? error.message : String(error)}\n`);
    continue;
  }
  latencyRows.push(...(await fraudLatency(target)));
  await target.close();
  process.stderr.write('fraud checks measured\n');
}
lines.push(
  `### Fraud check latency (POST /api/v1/analytics/fraud/check via inject, JWT auth, trained network in use; load average at start ${loadAtStart.toFixed(1)} on ${cpus().length} cores)`,
  '',
  '| database | traffic | p50 | p99 (goal < 10 ms) | throughput, 32 concurrent (goal 2,000/s) |',
  '|---|---|---|---|---|',
  ...latencyRows,
  '',
  'Throughput includes the publish and alert work that follows each stored check. Stored checks of concurrent requests share one transaction per tenant per batch (group commit), and each batch raises or refreshes one alert per pattern; a repeat within the dedup window is answered from memory. The embedded PGlite runs its SQL on the same thread as the requests, PostgreSQL in its own processes.',
  '',
);

// 3. Request latency while an autoencoder trains: worker thread vs main thread (baseline).
const readHeaders = await bearer(newTenant(), ['viewer']);
const windows = Array.from({ length: 2000 }, (_, i) => Array.from({ length: 10 }, (_, j) => 0.5 + 0.4 * Math.sin((i + j) / 7)));
const probe = async (during: Promise<unknown>): Promise<{ samples: number[]; trainingMs: number }> => {
  const samples: number[] = [];
  let done = false;
  const begin = performance.now();
  const finished = during.then(() => {
    done = true;
    return performance.now() - begin;
  });
  while (!done) {
    const s = performance.now();
    await t.app.inject({ method: 'GET', url: '/api/v1/analytics/anomalies?limit=10', headers: readHeaders });
    samples.push(performance.now() - s);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { samples: samples.sort((a, b) => a - b), trainingMs: await finished };
};
const idle = await probe(new Promise((resolve) => setTimeout(resolve, 2000)));
const inWorker = await probe(t.container.ml.trainer.train({ kind: 'autoencoder', windows, epochs: 3, batchSize: 32 }));
const tf = await loadTf();
// Yield once so the probe loop starts before the main thread is taken by training.
const onMain = await probe(new Promise((resolve) => setTimeout(resolve, 20)).then(() => runTraining(tf, { kind: 'autoencoder', windows, epochs: 3, batchSize: 32 })));
const row = (name: string, r: { samples: number[]; trainingMs: number }) =>
  `| ${name} | ${r.samples.length} | ${ms(percentile(r.samples, 50))} | ${ms(percentile(r.samples, 99))} | ${ms(r.samples[r.samples.length - 1] ?? 0)} | ${(r.trainingMs / 1000).toFixed(1)} s |`;
lines.push(
  '### Request latency while a model trains (GET /api/v1/analytics/anomalies every 10 ms; autoencoder, 2,000 windows, 3 epochs, batch 32)',
  '',
  '| training | requests | p50 ms | p99 ms | max ms | training time |',
  '|---|---|---|---|---|---|',
  row('none (idle, 2 s)', idle),
  row('in the worker thread (this service)', inWorker),
  row('on the main thread (baseline)', onMain),
);

await t.close();
writeSection('Analytics and ML: fraud, training off the event loop', lines.join('\n'));
process.stdout.write(`${lines.join('\n')}\n`);
process.exit(0);
