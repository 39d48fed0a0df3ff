import { connect } from 'node:net';

export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const serialize = (request: RawRequest, host: string): string => {
  const body = request.body ?? '';
  const headers = { host, ...request.headers, 'content-length': String(Buffer.byteLength(body)) };
  return `${request.method} ${request.path} HTTP/1.1\r\n${Object.entries(headers).map(([name, value]) => `${name}: ${value}`).join('\r\n')}\r\n\r\n${body}`;
};

/** Splits what the server sent into responses (Content-Length framing only; the service does not chunk these). */
function parseAnswers(raw: string): RawAnswer[] {
  const answers: RawAnswer[] = [];
  let rest = raw;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return answers;
    const [statusLine = '', ...lines] = rest.slice(0, end).split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? '0');
    const bodyStart = end + 4;
    if (Buffer.byteLength(rest.slice(bodyStart)) < length) return answers;
    answers.push({ status: Number(statusLine.split(' ')[1] ?? '0'), headers, body: rest.slice(bodyStart, bodyStart + length) });
    rest = rest.slice(bodyStart + length);
  }
}

/**
 * Two requests on one connection: the first is sent up to half its body at once, the rest of it
 * and the whole second request (pipelined) once `release` resolves. The second request thus
 * reaches the server only after whatever happened meanwhile (a SIGTERM). Resolves with the
 * answers received before the server closed the connection (or timeoutMs passed).
 */
export function pipelinedPair(baseUrl: string, first: RawRequest, second: RawRequest, release: Promise<void>, timeoutMs = 30_000): Promise<RawAnswer[]> {
  const target = new URL(baseUrl);
  const host = `${target.hostname}:${target.port}`;
  const head = serialize(first, host);
  const cut = head.length - Math.floor((first.body ?? '').length / 2);
  return new Promise((resolve) => {
    let received = '';
    const socket = connect({ host: target.hostname, port: Number(target.port) });
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseAnswers(received));
    };
    const timer = setTimeout(done, timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('utf8');
      if (parseAnswers(received).length >= 2) done();
    });
    socket.on('close', done);
    socket.on('error', done);
    socket.on('connect', () => {
      socket.write(head.slice(0, cut));
      void release.then(() => socket.write(head.slice(cut) + serialize(second, host)));
    });
  });
}
