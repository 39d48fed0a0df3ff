import websocket from '@fastify/websocket';
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import type { App } from '../platform/http/types.js';
import type { Hub } from './hub.js';

/** Subprotocol a browser offers with the token as a second protocol: `new WebSocket(url, ['bearer', token])`. */
export const BEARER_PROTOCOL = 'bearer';

function protocolsOf(request: FastifyRequest): string[] {
  const header = request.headers['sec-websocket-protocol'];
  return typeof header === 'string' ? header.split(',').map((item) => item.trim()).filter((item) => item.length > 0) : [];
}

/** The token offered at connect: `?token=`, `Authorization: Bearer`, or the `bearer` subprotocol. */
export function tokenAtConnect(request: FastifyRequest, query: { token?: string }): string | undefined {
  const fromQuery = query.token;
  if (fromQuery !== undefined && fromQuery.length > 0) return fromQuery;
  const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
  if (match?.[1] !== undefined) return match[1];
  const protocols = protocolsOf(request);
  if (!protocols.includes(BEARER_PROTOCOL)) return undefined;
  return protocols.find((protocol) => protocol !== BEARER_PROTOCOL);
}

/** `GET /api/v1/ws`: the authenticated, tenant-scoped live feed of metrics and alerts. */
export function realtimeRoutes(deps: { hub: Hub; maxMessageBytes: number }) {
  return async (app: App) => {
    await app.register(websocket, {
      options: {
        maxPayload: deps.maxMessageBytes,
        handleProtocols: (protocols: Set<string>) => (protocols.has(BEARER_PROTOCOL) ? BEARER_PROTOCOL : false),
      },
      // Clients learn why the connection ends (1001) instead of seeing it drop.
      preClose: async function closeClients(this: { websocketServer: { close(callback: () => void): void } }) {
        await deps.hub.closeAll();
        await new Promise<void>((resolve) => this.websocketServer.close(() => resolve()));
      },
    });
    app.route({
      method: 'GET',
      url: '/api/v1/ws',
      schema: {
        hide: true,
        tags: ['realtime'],
        summary: 'WebSocket: live metrics and alerts of the token tenant (see the message schema in the README)',
        querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 8192 })) }),
      },
      // A plain GET (no Upgrade header) gets 426 in the error envelope, not the plugin's empty 404.
      handler: async (_request, reply) => {
        void reply.header('upgrade', 'websocket');
        throw new AppError('BAD_REQUEST', 'This endpoint speaks WebSocket only: send Upgrade: websocket', { statusCode: 426 });
      },
      wsHandler: (socket, request) => {
        deps.hub.accept(socket, tokenAtConnect(request, request.query));
      },
    });
  };
}
