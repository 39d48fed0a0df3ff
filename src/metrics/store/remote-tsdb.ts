import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { DependencyUnavailableError } from '../../errors.js';
import { PromqlError } from '../promql/values.js';
import { encodeWriteRequest, type RemoteTimeSeries } from '../remote-write/codec.js';
import type { Sample } from '../sample.js';
import { remoteSeriesLabels, TENANT_LABEL, withoutTenantLabel } from './remote-tsdb-labels.js';

export interface RemoteTsdbOptions {
  /** Where remote write goes: `<url>/api/v1/write` (single node), `<vminsert>/insert/<account>/prometheus/api/v1/write` (cluster). */
  writeUrl: string;
  /** The Prometheus HTTP API's root: `<url>` (single node), `<vmselect>/select/<account>/prometheus` (cluster). */
  readUrl: string;
  timeoutMs: number;
}

/** One series read back: its labels as the caller sees them, its samples in time order. */
export interface RemoteSeries {
  labels: Record<string, string>;
  times: number[];
  values: number[];
}

/**
 * A Prometheus-compatible time-series database (VictoriaMetrics) as the metric sample store:
 * remote write in, the Prometheus HTTP API out. Every write carries the tenant label; every read
 * is sent with `extra_label=tenant_id=<tenant>`, which the database adds to every selector of the
 * query, so no selector a caller writes can reach another tenant's series. Nothing a caller sends
 * is passed on as a parameter but the ones named here.
 */
export interface RemoteTsdb {
  /** Stores the samples (their values as the service stores them); resolves once the database has accepted them. */
  write(tenantId: string, samples: ReadonlyArray<Readonly<Sample>>): Promise<void>;
  /** A Prometheus API read (`/api/v1/query`, `/api/v1/series`, ...) of one tenant's series: its `data`, tenant label removed from series. */
  read(tenantId: string, path: string, params: ReadonlyArray<[string, string]>): Promise<unknown>;
  /** The raw samples of the series any of the selectors matches in [from, to] (epoch ms; before the epoch reads from it), in one request. */
  exportSeries(tenantId: string, selectors: readonly string[], from: number, to: number): Promise<RemoteSeries[]>;
  /** Whether the database answers its health endpoint (both ends of a cluster). */
  healthy(): Promise<boolean>;
}

const DEPENDENCY = 'metrics store';
const HEALTH_TIMEOUT_MS = 2_000;

interface Envelope {
  status?: string;
  data?: unknown;
  errorType?: string;
  error?: string;
}

/** A query the database refused for the query's sake (400, 422) is the caller's; anything else is the database's. */
function refusalOf(status: number, envelope: Envelope): PromqlError | undefined {
  if (status !== 400 && status !== 422) return undefined;
  return new PromqlError(status === 400 ? 'bad_data' : 'execution', envelope.error ?? `the metrics store refused the query (${status})`);
}

/** Series in an answer (`metric` objects of vectors and matrices, the list of /series) lose the tenant label. */
function hideTenant(path: string, data: unknown): unknown {
  if (path.endsWith('/series') && Array.isArray(data)) return data.map((labels: Record<string, string>) => withoutTenantLabel(labels));
  if (path.endsWith('/labels') && Array.isArray(data)) return data.filter((name) => name !== TENANT_LABEL);
  if (typeof data === 'object' && data !== null && 'result' in data && Array.isArray(data.result)) {
    for (const entry of data.result as Array<{ metric?: Record<string, string> }>) if (entry.metric !== undefined) entry.metric = withoutTenantLabel(entry.metric);
  }
  return data;
}

interface Answer {
  status: number;
  body: Buffer;
}

/**
 * One request over kept-alive connections. node:http rather than fetch: a query through the service
 * is one hop more than asking the database, and fetch's streams cost about as much as the hop.
 */
function requester(timeoutMs: number) {
  const agents = { http: new HttpAgent({ keepAlive: true, maxSockets: 64 }), https: new HttpsAgent({ keepAlive: true, maxSockets: 64 }) };
  return (url: string, headers: Record<string, string>, body: Uint8Array | string): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const secure = target.protocol === 'https:';
      const send = secure ? httpsRequest : httpRequest;
      const outgoing = send(target, { method: 'POST', agent: secure ? agents.https : agents.http, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, timeout: timeoutMs }, (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, body: Buffer.concat(chunks) }));
        incoming.on('error', (error) => reject(new DependencyUnavailableError(DEPENDENCY, error)));
      });
      outgoing.on('timeout', () => outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      outgoing.on('error', (error) => reject(new DependencyUnavailableError(DEPENDENCY, error)));
      outgoing.end(body);
    });
}

export function createRemoteTsdb(options: RemoteTsdbOptions): RemoteTsdb {
  const root = options.readUrl.replace(/\/+$/, '');
  const post = requester(options.timeoutMs);
  const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
  const form = (tenantId: string, params: ReadonlyArray<[string, string]>) => new URLSearchParams([...params, ['extra_label', `${TENANT_LABEL}=${tenantId}`]]).toString();

  return {
    async write(tenantId, samples) {
      const bySeries = new Map<string, RemoteTimeSeries>();
      for (const sample of samples) {
        let series = bySeries.get(sample.seriesKey);
        if (series === undefined) {
          series = { labels: remoteSeriesLabels(tenantId, sample), samples: [] };
          bySeries.set(sample.seriesKey, series);
        }
        series.samples.push({ value: sample.value, timestamp: sample.timestamp.getTime() });
      }
      const answer = await post(options.writeUrl, { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' }, encodeWriteRequest({ timeseries: [...bySeries.values()] }));
      if (answer.status < 200 || answer.status > 299) throw new DependencyUnavailableError(DEPENDENCY, new Error(`remote write answered ${answer.status}: ${answer.body.toString('utf8', 0, 300)}`));
    },

    async read(tenantId, path, params) {
      const answer = await post(`${root}${path}`, FORM, form(tenantId, params));
      let envelope: Envelope;
      try {
        envelope = JSON.parse(answer.body.toString('utf8')) as Envelope;
      } catch (error) {
        throw new DependencyUnavailableError(DEPENDENCY, error);
      }
      const refusal = refusalOf(answer.status, envelope);
      if (refusal !== undefined) throw refusal;
      if (answer.status !== 200 || envelope.status !== 'success') throw new DependencyUnavailableError(DEPENDENCY, new Error(`${path} answered ${answer.status}: ${envelope.error ?? ''}`));
      return hideTenant(path, envelope.data);
    },

    async exportSeries(tenantId, selectors, from, to) {
      const params: Array<[string, string]> = [...selectors.map((selector): [string, string] => ['match[]', selector]), ['start', String(Math.max(from, 0) / 1000)], ['end', String(to / 1000)]];
      const answer = await post(`${root}/api/v1/export`, FORM, form(tenantId, params));
      const text = answer.body.toString('utf8');
      if (answer.status === 400 || answer.status === 422) throw new PromqlError('bad_data', text.slice(0, 300));
      if (answer.status !== 200) throw new DependencyUnavailableError(DEPENDENCY, new Error(`/api/v1/export answered ${answer.status}: ${text.slice(0, 300)}`));
      const series: RemoteSeries[] = [];
      for (const line of text.split('\n')) {
        if (line.trim() === '') continue;
        const entry = JSON.parse(line) as { metric: Record<string, string>; values: Array<number | null>; timestamps: number[] };
        // Export gives each series' samples in time order; a stale marker (null) is no sample.
        const times: number[] = [];
        const values: number[] = [];
        entry.timestamps.forEach((time, index) => {
          const value = entry.values[index];
          if (typeof value !== 'number') return;
          times.push(time);
          values.push(value);
        });
        series.push({ labels: withoutTenantLabel(entry.metric), times, values });
      }
      return series;
    },

    async healthy() {
      // Both ends (one process on a single node; vminsert and vmselect in a cluster), within a probe's patience.
      const origins = [...new Set([new URL(options.writeUrl).origin, new URL(root).origin])];
      const answers = await Promise.all(origins.map((origin) => fetch(`${origin}/health`, { signal: AbortSignal.timeout(Math.min(options.timeoutMs, HEALTH_TIMEOUT_MS)) }).catch(() => undefined)));
      return answers.every((response) => response?.ok === true);
    },
  };
}
