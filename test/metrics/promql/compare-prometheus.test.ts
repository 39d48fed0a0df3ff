import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, createTestApp, newTenant, type TestApp } from '../../support/app.js';
import { startPrometheus, startVictoriaMetrics, type PeerProcess } from '../../support/peer-process.js';
import { requireProgram } from '../../support/programs.js';
import { waitFor } from '../../support/ws.js';
import { compareCorpus, type ApiAnswer, writeBodies } from './compare.js';
import { reducedCorpus, STEP_MS } from './corpus.js';

// The same data remote-written into Debian's Prometheus and into the service; the same PromQL
// through both HTTP APIs, at several times and as range queries; the answers must agree.
const prometheusMissing = requireProgram('prometheus', 'prometheus');
const victoriaMissing = requireProgram('victoria-metrics', 'victoria-metrics');

/** Where the service keeps the samples: its database, or VictoriaMetrics (METRICS_STORE=victoriametrics), its queries still this service's PromQL. */
interface Store {
  name: string;
  skip: boolean;
  start(): Promise<{ env: Record<string, string>; stop(): Promise<void> }>;
}

const STORES: Store[] = [
  { name: 'the database', skip: false, start: async () => ({ env: {}, stop: async () => undefined }) },
  {
    name: 'VictoriaMetrics (Debian package)',
    skip: victoriaMissing.skip,
    start: async () => {
      const victoria = await startVictoriaMetrics();
      return { env: { METRICS_STORE: 'victoriametrics', METRICS_STORE_URL: victoria.url }, stop: () => victoria.stop() };
    },
  },
];

const describeStores = prometheusMissing.skip ? describe.skip : describe;

describeStores.each(STORES.filter((store) => !store.skip))('PromQL beside Prometheus (Debian package), same data, samples in $name', (store) => {
  let prometheus: PeerProcess;
  let stopStore: () => Promise<void> = async () => undefined;
  let t: TestApp;
  let tenant: string;
  let readKey = '';
  const end = Math.floor(Date.now() / STEP_MS) * STEP_MS - 60_000;

  beforeAll(async () => {
    prometheus = await startPrometheus();
    const started = await store.start();
    stopStore = () => started.stop();
    t = await createTestApp({ env: started.env });
    tenant = newTenant();
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/api-keys', headers: await bearer(tenant), payload: { name: 'compare', scopes: ['ingest', 'read'] } });
    readKey = created.json<{ key: string }>().key;
    for (const body of writeBodies(end)) {
      const headers = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
      const toPrometheus = await fetch(`${prometheus.url}/api/v1/write`, { method: 'POST', headers, body });
      expect(toPrometheus.status, await toPrometheus.text()).toBe(204);
      const toService = await t.app.inject({ method: 'POST', url: '/api/v1/write', headers: { ...headers, authorization: `Bearer ${readKey}` }, payload: body });
      expect(toService.statusCode, toService.body).toBe(204);
    }
    // VictoriaMetrics makes new samples searchable within seconds: polled until both count the same samples.
    // Per metric name, as the corpus selects them: VictoriaMetrics caches which series a name's selector finds.
    const names = ((await theirs('/api/v1/label/__name__/values', {})) as unknown as { data: string[] }).data;
    const samplesOf = async (ask: (path: string, params: Record<string, string>) => Promise<ApiAnswer>) => {
      const counted: string[] = [];
      for (const name of names) {
        const result = (await ask('/api/v1/query', { query: `count_over_time(${name}[1d])`, time: String(end / 1000) })).data?.result;
        for (const entry of Array.isArray(result) ? (result as Array<{ metric: Record<string, string>; value: unknown }>) : []) counted.push(JSON.stringify([name, Object.entries(entry.metric).sort(), entry.value]));
      }
      return counted.sort().join('\n');
    };
    // Every series' sample count, the same twice a second apart: all of it searchable, not a moment of it.
    let agreedAt: number | undefined;
    await waitFor(
      async () => {
        const [a, b] = [await samplesOf(ours), await samplesOf(theirs)];
        if (a !== b) agreedAt = undefined;
        else agreedAt ??= Date.now();
        return agreedAt !== undefined && Date.now() - agreedAt >= 1_000;
      },
      60_000,
      'the service to count the samples of each series Prometheus counts',
    );
  }, 120_000);
  afterAll(async () => {
    await prometheus?.stop();
    await t?.close();
    await stopStore();
  });

  const ours = async (path: string, params: Record<string, string>): Promise<ApiAnswer> =>
    (await t.app.inject({ method: 'GET', url: `${path}?${new URLSearchParams(params).toString()}`, headers: { authorization: `Bearer ${readKey}` } })).json<ApiAnswer>();
  const theirs = async (path: string, params: Record<string, string>): Promise<ApiAnswer> => (await (await fetch(`${prometheus.url}${path}?${new URLSearchParams(params).toString()}`)).json()) as ApiAnswer;
  const ask = async (path: string, params: Record<string, string>): Promise<[ApiAnswer, ApiAnswer]> => Promise.all([ours(path, params), theirs(path, params)]);

  it('answers the reduced corpus as Prometheus does: instant queries at four times, range queries at two steps', async () => {
    const { compared, mismatches } = await compareCorpus(reducedCorpus(), end, ours, theirs);
    process.stdout.write(`[promql] ${compared - mismatches.length} of ${compared} answers match Prometheus\n${mismatches.slice(0, 30).join('\n')}\n`);
    expect(mismatches).toEqual([]);
  }, 120_000);

  it('agrees on series, label names and label values', async () => {
    for (const [path, params] of [
      ['/api/v1/series', { 'match[]': 'http_requests_total{code="500"}' }],
      ['/api/v1/labels', {}],
      ['/api/v1/label/instance/values', {}],
      ['/api/v1/label/__name__/values', {}],
    ] as const) {
      const [ours, theirs] = await ask(path, params);
      expect(ours, path).toEqual(theirs);
    }
  });

  it('answers what it cannot parse or evaluate with Prometheus\'s error envelope', async () => {
    const [syntax] = await ask('/api/v1/query', { query: 'sum(' });
    expect(syntax).toMatchObject({ status: 'error', errorType: 'bad_data' });
    const [unsupported] = await ask('/api/v1/query', { query: 'histogram_count(up)' });
    expect(unsupported).toMatchObject({ status: 'error', errorType: 'bad_data' });
    const [empty] = await ask('/api/v1/query', { query: '{job=~".*"}' });
    expect(empty).toMatchObject({ status: 'error', errorType: 'bad_data' });
  });
});
