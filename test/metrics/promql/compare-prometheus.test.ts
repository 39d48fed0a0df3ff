import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWriteRequest, type RemoteTimeSeries } from '../../../src/metrics/remote-write/codec.js';
import { bearer, createTestApp, newTenant, type TestApp } from '../../support/app.js';
import { startPrometheus, type PeerProcess } from '../../support/peer-process.js';
import { requireProgram } from '../../support/programs.js';
import { generateSeries, QUERIES, STEP_MS } from './corpus.js';

// The same data remote-written into Debian's Prometheus and into the service; the same PromQL
// through both HTTP APIs, at several times and as range queries; the answers must agree.
const prometheusMissing = requireProgram('prometheus', 'prometheus');

interface ApiAnswer {
  status: string;
  errorType?: string;
  data?: { resultType: string; result: unknown };
}

/** An answer reduced to what must agree: per label set, its values (or the error type). */
function normalise(answer: ApiAnswer): Map<string, number[]> | string {
  if (answer.status !== 'success' || answer.data === undefined) return `error:${answer.errorType ?? '?'}`;
  const { resultType, result } = answer.data;
  const out = new Map<string, number[]>();
  const key = (metric: Record<string, string>) => JSON.stringify(Object.entries(metric).sort(([a], [b]) => (a < b ? -1 : 1)));
  if (resultType === 'scalar') out.set('scalar', [Number((result as [number, string])[1])]);
  else if (resultType === 'vector') for (const entry of result as Array<{ metric: Record<string, string>; value: [number, string] }>) out.set(key(entry.metric), [entry.value[0], Number(entry.value[1])]);
  else if (resultType === 'matrix') for (const entry of result as Array<{ metric: Record<string, string>; values: Array<[number, string]> }>) out.set(key(entry.metric), entry.values.flatMap(([at, value]) => [at, Number(value)]));
  return out;
}

const close = (a: number, b: number) => (Number.isNaN(a) && Number.isNaN(b)) || a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));

function difference(ours: Map<string, number[]> | string, theirs: Map<string, number[]> | string): string | undefined {
  if (typeof ours === 'string' || typeof theirs === 'string') return ours === theirs ? undefined : `${typeof ours === 'string' ? ours : 'success'} vs Prometheus ${typeof theirs === 'string' ? theirs : 'success'}`;
  const keys = new Set([...ours.keys(), ...theirs.keys()]);
  for (const key of keys) {
    const a = ours.get(key);
    const b = theirs.get(key);
    if (a === undefined || b === undefined) return `series ${key} only in ${a === undefined ? 'Prometheus' : 'the service'}`;
    if (a.length !== b.length) return `series ${key}: ${a.length / 2} points vs ${b.length / 2}`;
    const at = a.findIndex((value, index) => !close(value, b[index] ?? Number.NaN));
    if (at >= 0) return `series ${key}: ${a[at]} vs Prometheus ${b[at]} at position ${at}`;
  }
  return undefined;
}

describe.skipIf(prometheusMissing.skip)('PromQL beside Prometheus (Debian package), same data', () => {
  let prometheus: PeerProcess;
  let t: TestApp;
  let tenant: string;
  let readKey = '';
  const end = Math.floor(Date.now() / STEP_MS) * STEP_MS - 60_000;

  beforeAll(async () => {
    prometheus = await startPrometheus();
    t = await createTestApp();
    tenant = newTenant();
    const created = await t.app.inject({ method: 'POST', url: '/api/v1/monitoring/api-keys', headers: await bearer(tenant), payload: { name: 'compare', scopes: ['ingest', 'read'] } });
    readKey = created.json<{ key: string }>().key;
    // In time order, ten minutes at a time: Prometheus's head takes samples no older than an hour before its newest.
    const series = generateSeries(end);
    for (let from = end - 60 * 60_000; from <= end; from += 10 * 60_000) {
      const slice: RemoteTimeSeries[] = series.map((entry) => ({ labels: entry.labels, samples: entry.samples.filter((sample) => sample.timestamp >= from && sample.timestamp < from + 10 * 60_000) })).filter((entry) => entry.samples.length > 0);
      const body = Buffer.from(encodeWriteRequest({ timeseries: slice }));
      const headers = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
      const toPrometheus = await fetch(`${prometheus.url}/api/v1/write`, { method: 'POST', headers, body });
      expect(toPrometheus.status, await toPrometheus.text()).toBe(204);
      const toService = await t.app.inject({ method: 'POST', url: '/api/v1/write', headers: { ...headers, authorization: `Bearer ${readKey}` }, payload: body });
      expect(toService.statusCode, toService.body).toBe(204);
    }
  }, 120_000);
  afterAll(async () => {
    await prometheus?.stop();
    await t?.close();
  });

  const ask = async (path: string, params: Record<string, string>): Promise<[ApiAnswer, ApiAnswer]> => {
    const query = new URLSearchParams(params).toString();
    const theirs = (await (await fetch(`${prometheus.url}${path}?${query}`)).json()) as ApiAnswer;
    const ours = await t.app.inject({ method: 'GET', url: `${path}?${query}`, headers: { authorization: `Bearer ${readKey}` } });
    return [ours.json<ApiAnswer>(), theirs];
  };

  it('answers every query of the corpus as Prometheus does: instant queries at four times, range queries at two steps', async () => {
    const mismatches: string[] = [];
    let compared = 0;
    for (const query of QUERIES) {
      for (const time of [end - 30 * 60_000, end - 7 * 60_000 - 7_000, end, end + 3 * 60_000]) {
        const [ours, theirs] = await ask('/api/v1/query', { query, time: String(time / 1000) });
        const problem = difference(normalise(ours), normalise(theirs));
        compared += 1;
        if (problem !== undefined) mismatches.push(`${query} @ ${time}: ${problem}`);
      }
      for (const step of ['60', '37']) {
        const [ours, theirs] = await ask('/api/v1/query_range', { query, start: String((end - 50 * 60_000) / 1000), end: String(end / 1000), step });
        const problem = difference(normalise(ours), normalise(theirs));
        compared += 1;
        if (problem !== undefined) mismatches.push(`${query} [step ${step}]: ${problem}`);
      }
    }
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
    const [unsupported] = await ask('/api/v1/query', { query: 'label_replace(up, "a", "b", "c", "d")' });
    expect(unsupported).toMatchObject({ status: 'error', errorType: 'bad_data' });
    const [empty] = await ask('/api/v1/query', { query: '{job=~".*"}' });
    expect(empty).toMatchObject({ status: 'error', errorType: 'bad_data' });
  });
});
