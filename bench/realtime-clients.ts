import { WebSocket } from 'ws';

/**
 * The WebSocket subscribers of bench/realtime.bench.ts, in their own process so that they do not
 * share the server's event loop. Env: TARGETS = JSON [{url, count}], TOKEN. Latency of a message
 * = receipt time - its `committed_at` (same machine, same clock).
 */
const targets = JSON.parse(process.env['TARGETS'] ?? '[]') as Array<{ url: string; count: number; label: string }>;
const token = process.env['TOKEN'] ?? '';
const latencies = new Map<string, number[]>();
const sockets: WebSocket[] = [];
let closedEarly = 0;

async function open(url: string, label: string): Promise<void> {
  const socket = new WebSocket(`${url}/api/v1/ws?token=${token}`);
  sockets.push(socket);
  const list = latencies.get(label) ?? [];
  latencies.set(label, list);
  await new Promise<void>((resolve, reject) => {
    socket.on('message', (data: Buffer) => {
      const text = data.toString('utf8');
      if (text.startsWith('{"type":"metric"')) {
        const at = /"committed_at":"([^"]+)"/.exec(text)?.[1];
        if (at !== undefined) list.push(Date.now() - Date.parse(at));
        return;
      }
      const message = JSON.parse(text) as { type: string };
      if (message.type === 'authenticated') socket.send(JSON.stringify({ action: 'subscribe', metrics: ['*'] }));
      if (message.type === 'subscribed') resolve();
    });
    socket.on('close', () => (closedEarly += 1));
    socket.on('error', reject);
  });
}

async function main(): Promise<void> {
  for (const target of targets) {
    // Open in small groups: a thousand simultaneous handshakes only measure the accept queue.
    for (let index = 0; index < target.count; index += 50) {
      await Promise.all(Array.from({ length: Math.min(50, target.count - index) }, () => open(target.url, target.label)));
    }
  }
  process.send?.({ ready: sockets.length });
  process.on('message', () => {
    const report = Object.fromEntries([...latencies].map(([label, list]) => [label, list]));
    process.send?.({ report, closedEarly }, () => process.exit(0));
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`bench clients failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
