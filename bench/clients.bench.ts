import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSigner } from '../src/auth/index.js';
import { createClients } from '../src/clients/index.js';
import { createMemoryCache } from '../src/platform/cache/index.js';
import { systemClock } from '../src/platform/clock.js';
import { percentile, writeSection } from './results.js';

/**
 * Cost of the typed service client (signature, timeout signal, breaker, TypeBox check) per call
 * against a local event service, compared with the baseline in the same run: a bare `fetch`
 * plus `JSON.parse` of the same answer. Also the cached event lookup (memory cache hit).
 */
const CALLS = 2_000;
const EVENT = { id: 'evt-1', venue_id: 'venue-1', name: 'Final', capacity: 12_000, on_sale_at: '2026-01-01T09:00:00.000Z', starts_at: '2026-03-01T19:00:00.000Z', status: 'on_sale' };

async function measure(label: string, work: (index: number) => Promise<unknown>): Promise<{ label: string; p50: number; p99: number; perSecond: number }> {
  for (let index = 0; index < 100; index += 1) await work(index);
  const durations: number[] = [];
  const started = performance.now();
  for (let index = 0; index < CALLS; index += 1) {
    const at = performance.now();
    await work(index);
    durations.push(performance.now() - at);
  }
  const total = performance.now() - started;
  durations.sort((a, b) => a - b);
  return { label, p50: percentile(durations, 50), p99: percentile(durations, 99), perSecond: (CALLS / total) * 1000 };
}

async function main(): Promise<void> {
  const body = JSON.stringify(EVENT);
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const clients = createClients({
    config: { EVENT_SERVICE_URL: url, VENUE_SERVICE_URL: undefined, TICKET_SERVICE_URL: undefined, SERVICE_CLIENT_TIMEOUT_MS: 5_000, SERVICE_CLIENT_RETRIES: 2, SERVICE_CLIENT_BACKOFF_MS: 200, SERVICE_CLIENT_BREAKER_THRESHOLD: 5, SERVICE_CLIENT_BREAKER_OPEN_MS: 30_000, EVENT_CACHE_TTL_MS: 60_000 },
    signer: createSigner('bench-secret-that-is-long-enough-0123456789', 'monitoring-service'),
    cache: createMemoryCache(),
    clock: systemClock,
  });
  const tenant = '00000000-0000-4000-8000-000000000001';
  try {
    const baseline = await measure('baseline: bare fetch + JSON.parse', async (index) => JSON.parse(await (await fetch(`${url}/api/v1/events/e${index}`)).text()) as unknown);
    const typed = await measure('typed client, uncached (signed, breaker, schema check)', (index) => clients.events.getEvent(tenant, `e${index}-${Date.now()}`));
    const hit = await measure('typed client, cached (memory cache hit)', () => clients.events.getEvent(tenant, 'hot'));
    const rows = [baseline, typed, hit].map((row) => `| ${row.label} | ${row.p50.toFixed(3)} | ${row.p99.toFixed(3)} | ${Math.round(row.perSecond)} |`);
    const overhead = typed.p50 - baseline.p50;
    writeSection(
      'Service clients (issue 8)',
      `${CALLS} sequential GET /api/v1/events/:id against a local node:http event service.\n\n| path | p50 ms | p99 ms | calls/s |\n|---|---|---|---|\n${rows.join('\n')}\n\nOverhead of the typed client over the bare fetch at p50: ${overhead.toFixed(3)} ms per call.`,
    );
    console.log(rows.join('\n'));
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

await main();
