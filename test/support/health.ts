import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A real HTTP server on 127.0.0.1 whose answer can be changed while it runs. */
export interface FakeServer {
  url: string;
  requests: IncomingMessage[];
  stop(): Promise<void>;
  /** Listens again on the same port after stop(). */
  restart(): Promise<void>;
}

export type Behaviour = { status: number; delayMs?: number; body?: unknown; headers?: Record<string, string> } | { never: true };

export async function startFakeServer(behave: (request: IncomingMessage) => Behaviour): Promise<FakeServer> {
  const requests: IncomingMessage[] = [];
  const handler = (request: IncomingMessage, response: ServerResponse) => {
    requests.push(request);
    const behaviour = behave(request);
    if ('never' in behaviour) return;
    const answer = () => {
      response.writeHead(behaviour.status, { 'content-type': 'application/json', ...behaviour.headers });
      response.end(JSON.stringify(behaviour.body ?? { status: behaviour.status < 400 ? 'ok' : 'error' }));
    };
    if (behaviour.delayMs === undefined) answer();
    else setTimeout(answer, behaviour.delayMs).unref();
  };
  let server: Server = createServer(handler);
  const listen = (at: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  const port = await listen(0);
  const stop = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    stop,
    async restart() {
      server = createServer(handler);
      await listen(port);
    },
  };
}

/** A port nothing listens on: connections to it are refused. */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Elasticsearch's GET /_cluster/health as the official client expects it (product header included). */
export function elasticsearchAnswer(status: 'green' | 'yellow' | 'red', overrides: Partial<{ productHeader: boolean; httpStatus: number }> = {}): Behaviour {
  return {
    status: overrides.httpStatus ?? 200,
    headers: overrides.productHeader === false ? {} : { 'x-elastic-product': 'Elasticsearch' },
    body: overrides.httpStatus === undefined ? { cluster_name: 'test', status, timed_out: false, number_of_nodes: 1, number_of_data_nodes: 1 } : { error: { type: 'security_exception' }, status: overrides.httpStatus },
  };
}
