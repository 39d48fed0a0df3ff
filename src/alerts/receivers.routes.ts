import { Type } from '@sinclair/typebox';
import { actorOf, principalOf } from '../auth/index.js';
import type { Container } from '../container.js';
import { NotFoundError } from '../errors.js';
import type { App } from '../platform/http/types.js';
import { CHANNELS, parseChannels, type ChannelName } from './channels.js';
import { parseReceiver, RECEIVER_BODIES, ReceiverViewSchema } from './receivers/receivers.schema.js';

const ADMIN = { roles: ['admin'], services: false } as const;
const PREFIX = '/api/v1/monitoring/alerts/receivers';
const ChannelParams = Type.Object({ channel: Type.String({ maxLength: 100, description: CHANNELS.join(' | ') }) });
const SUMMARY: Record<ChannelName, string> = {
  email: 'Set the e-mail recipients of this tenant ({to}); the SMTP relay is the platform’s',
  slack: 'Set this tenant’s Slack receiver: {channel, token} (Web API, threads) or {webhook_url} (incoming webhook)',
  pagerduty: 'Set this tenant’s PagerDuty routing key ({routing_key})',
  webhook: 'Set this tenant’s webhook ({url, secret?}); with a secret the body is signed',
};

const channelOf = (value: string): ChannelName => {
  const [channel] = parseChannels([value], 'channel');
  if (channel === undefined) throw new TypeError('parseChannels returned nothing');
  return channel;
};

/**
 * Notification receivers of the caller's tenant, for its admins. Secrets are write-only: answers
 * say a secret is configured and show its last 4 characters at most.
 */
export function receiversRoutes(container: Container) {
  const { receivers } = container.alerting;
  return async (app: App) => {
    app.get(
      PREFIX,
      { preHandler: container.auth.require(ADMIN), schema: { tags: ['alerts'], summary: 'This tenant’s notification receivers (secrets are never returned)', response: { 200: Type.Object({ data: Type.Array(ReceiverViewSchema) }) } } },
      async (request) => ({ data: await receivers.list(principalOf(request).tenantId) }),
    );

    const put = (channel: ChannelName) =>
      app.put(
        `${PREFIX}/${channel}`,
        { preHandler: container.auth.require(ADMIN), schema: { tags: ['alerts'], summary: SUMMARY[channel], body: RECEIVER_BODIES[channel], response: { 200: Type.Object({ data: ReceiverViewSchema }) } } },
        async (request) => {
          const principal = principalOf(request);
          const input = parseReceiver(channel, request.body);
          return { data: await receivers.put(principal.tenantId, channel, input, actorOf(principal)) };
        },
      );
    for (const channel of CHANNELS) put(channel);
    // Any other channel name: 400 UNKNOWN_CHANNEL rather than a 404 route.
    app.put(`${PREFIX}/:channel`, { preHandler: container.auth.require(ADMIN), schema: { tags: ['alerts'], summary: 'Unknown channels are refused', params: ChannelParams } }, async (request) => {
      parseChannels([request.params.channel], 'channel');
      throw new NotFoundError('Route', `PUT ${request.url}`);
    });

    app.delete(
      `${PREFIX}/:channel`,
      { preHandler: container.auth.require(ADMIN), schema: { tags: ['alerts'], summary: 'Remove this tenant’s receiver of a channel: its notifications are then recorded as not_configured', params: ChannelParams, response: { 204: Type.Null() } } },
      async (request, reply) => {
        await receivers.remove(principalOf(request).tenantId, channelOf(request.params.channel));
        return reply.status(204).send(null);
      },
    );
  };
}
