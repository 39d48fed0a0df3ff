import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { compress } from 'snappyjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeWriteRequest, encodeWriteRequest, RemoteWriteDecodeError, type WriteRequest } from '../../../src/metrics/remote-write/codec.js';
import { startPrometheus, startVictoriaMetrics, type PeerProcess } from '../../support/peer-process.js';
import { requireProgram } from '../../support/programs.js';

const prometheusMissing = requireProgram('prometheus', 'prometheus');
const victoriaMissing = requireProgram('victoria-metrics', 'victoria-metrics');

const REMOTE_WRITE_HEADERS = { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-prometheus-remote-write-version': '0.1.0' };
const now = Math.floor(Date.now() / 1000) * 1000;

/** Two series, one with a NaN-free counter and one gauge, 1 s apart, as a remote-write client sends them. */
const written = encodeWriteRequest({
  timeseries: [
    { labels: [{ name: '__name__', value: 'rw_probe_total' }, { name: 'job', value: 'codec' }], samples: [0, 1, 2].map((step) => ({ value: 10 + step * 5, timestamp: now - (3 - step) * 1000 })) },
    { labels: [{ name: '__name__', value: 'rw_probe_gauge' }, { name: 'job', value: 'codec' }, { name: 'zone', value: 'é ü' }], samples: [{ value: -0.25, timestamp: now - 1000 }] },
  ],
  metadata: [{ type: 'COUNTER', metric_family_name: 'rw_probe_total', help: 'probe', unit: '' }],
});

async function instantValues(peer: PeerProcess, query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const response = await fetch(`${peer.url}/api/v1/query?query=${encodeURIComponent(query)}&time=${now / 1000}`);
  const body = (await response.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  return body.data.result;
}

describe.skipIf(prometheusMissing.skip)('remote write against Prometheus (Debian package)', () => {
  let prometheus: PeerProcess;
  let receiver: Server;
  const received: WriteRequest[] = [];

  beforeAll(async () => {
    receiver = createServer((request: IncomingMessage, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        received.push(decodeWriteRequest(Buffer.concat(chunks), 10_000_000));
        response.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const { port } = receiver.address() as AddressInfo;
    // Prometheus scrapes itself every second and sends what it scraped to `receiver`.
    prometheus = await startPrometheus(
      (self) => `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs:\n      - targets: ['127.0.0.1:${self}']\nremote_write:\n  - url: http://127.0.0.1:${port}/write\n    queue_config:\n      batch_send_deadline: 1s\n    metadata_config:\n      send_interval: 1s\n`,
    );
  }, 90_000);
  afterAll(async () => {
    await prometheus.stop();
    await new Promise((resolve) => receiver.close(resolve));
  });

  it('Prometheus stores what encodeWriteRequest sends (204), values and labels intact', async () => {
    const response = await fetch(`${prometheus.url}/api/v1/write`, { method: 'POST', headers: REMOTE_WRITE_HEADERS, body: written });
    expect(response.status).toBe(204);
    expect((await instantValues(prometheus, 'rw_probe_total')).map((series) => [series.metric, series.value[1]])).toEqual([[{ __name__: 'rw_probe_total', job: 'codec' }, '20']]);
    expect((await instantValues(prometheus, 'rw_probe_gauge')).map((series) => [series.metric, series.value[1]])).toEqual([[{ __name__: 'rw_probe_gauge', job: 'codec', zone: 'é ü' }, '-0.25']]);
  });

  it("decodeWriteRequest reads what Prometheus' own remote-write client sends", async () => {
    // Until the first batch arrives: polled, never a fixed wait; the test timeout bounds it.
    while (!received.some((request) => request.timeseries.length > 0)) await new Promise((resolve) => setTimeout(resolve, 200));
    const series = received.flatMap((request) => request.timeseries);
    const up = series.find((entry) => entry.labels.some((label) => label.name === '__name__' && label.value === 'up'));
    expect(up?.labels).toEqual(expect.arrayContaining([{ name: 'job', value: 'self' }]));
    expect(up?.samples[0]?.value).toBe(1);
    expect(Math.abs((up?.samples[0]?.timestamp ?? 0) - Date.now())).toBeLessThan(120_000);
  }, 60_000);
});

describe.skipIf(victoriaMissing.skip)('remote write against VictoriaMetrics (Debian package)', () => {
  it('VictoriaMetrics stores what encodeWriteRequest sends', async () => {
    const victoria = await startVictoriaMetrics();
    try {
      const response = await fetch(`${victoria.url}/api/v1/write`, { method: 'POST', headers: REMOTE_WRITE_HEADERS, body: written });
      expect(response.status).toBe(204);
      // VictoriaMetrics makes new samples searchable within a second or so: poll until they are.
      let values: Array<{ metric: Record<string, string>; value: [number, string] }> = [];
      while (values.length === 0) {
        await fetch(`${victoria.url}/internal/force_flush`);
        values = await instantValues(victoria, 'rw_probe_total');
      }
      expect(values.map((series) => [series.metric, series.value[1]])).toEqual([[{ __name__: 'rw_probe_total', job: 'codec' }, '20']]);
    } finally {
      await victoria.stop();
    }
  }, 60_000);
});

describe('decodeWriteRequest refusals', () => {
  it('refuses a body that is not snappy, not a WriteRequest, or inflates past the limit before inflating it', () => {
    expect(() => decodeWriteRequest(new TextEncoder().encode('{"metrics":[]}'), 1_000_000)).toThrow(RemoteWriteDecodeError);
    expect(() => decodeWriteRequest(compress(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f])), 1_000_000)).toThrow(RemoteWriteDecodeError);
    expect(() => decodeWriteRequest(written, 16)).toThrow(/too big/);
  });
});
