import { randomUUID } from 'node:crypto';
import { Agent, request } from 'node:http';
import WebSocket from 'ws';

/**
 * Tenant A of the noisy-neighbour benchmark, in its own process (its own core) and from its own
 * loopback address (127.0.0.2), so that B's requests are not limited as A's IP. Runs one attack
 * at full speed until killed: `node --import tsx bench/noisy-attacker.ts <base url> <kind> <bearer token>`.
 */
export type AttackKind = 'burst' | 'labels' | 'huge' | 'regex' | 'websocket';

const [base = '', kind = 'burst', token = ''] = process.argv.slice(2);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const counts = { sent: 0, limited: 0, other: 0 };

/** One POST from 127.0.0.2; resolves with the status once the answer is read (0 on a network error). */
function postOnce(path: string, body: unknown): Promise<number> {
  const payload = JSON.stringify(body);
  return new Promise((resolve) => {
    const outgoing = request(`${base}${path}`, { method: 'POST', agent, localAddress: '127.0.0.2', headers: { authorization: token, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (incoming) => {
      incoming.resume();
      incoming.on('end', () => resolve(incoming.statusCode ?? 0));
    });
    outgoing.on('error', () => resolve(0));
    outgoing.end(payload);
  });
}

async function post(path: string, body: unknown): Promise<void> {
  const status = await postOnce(path, body);
  counts.sent += 1;
  if (status === 429) counts.limited += 1;
  else if (status === 0 || status >= 300) counts.other += 1;
}

const batch = (size: number, make: (index: number) => { name: string; service: string; value: number; labels?: Record<string, string> }) => ({ metrics: Array.from({ length: size }, (_, index) => make(index)) });

async function loop(concurrency: number, work: () => Promise<void>): Promise<void> {
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (;;) await work();
  }));
}

async function websocketFlood(): Promise<void> {
  const url = `${base.replace(/^http/, 'ws')}/api/v1/ws`;
  const open = new Set<WebSocket>();
  for (;;) {
    if (open.size < 1_000) {
      const socket = new WebSocket(url, { headers: { authorization: token }, localAddress: '127.0.0.2' });
      open.add(socket);
      socket.on('open', () => socket.send(JSON.stringify({ action: 'subscribe', metrics: ['*'] })));
      socket.on('close', () => open.delete(socket));
      socket.on('error', () => open.delete(socket));
      counts.sent += 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const METRICS = '/api/v1/monitoring/metrics';
const attacks: Record<AttackKind, () => Promise<void>> = {
  burst: () => loop(64, () => post(METRICS, { name: 'burst', service: 'a', value: 1 })),
  labels: () => loop(8, () => post(METRICS, batch(1_000, () => ({ name: 'exploding', service: 'a', value: 1, labels: { id: randomUUID() } })))),
  huge: () => loop(8, () => post(METRICS, batch(1_000, () => ({ name: 'huge', service: 'a', value: 1e308 })))),
  regex: async () => {
    await post('/api/v1/monitoring/alerts/rules', {
      rule_name: 'catastrophic', metric_name: 'victim', condition: '>', threshold: 0, severity: 'warning',
      label_matchers: [{ name: 'x', value: '(a+)+', is_regex: true }],
    });
    await loop(8, () => post(METRICS, batch(100, () => ({ name: 'victim', service: 'a', value: 1, labels: { x: `${'a'.repeat(30)}!` } }))));
  },
  websocket: websocketFlood,
};

setInterval(() => process.stdout.write(`${JSON.stringify(counts)}\n`), 1_000).unref();
const attack = attacks[kind as AttackKind];
if (attack === undefined) throw new Error(`unknown attack ${kind}`);
await attack();
