import type { Bus } from './bus.js';

/** Header naming the service that published a message; consumers skip their own service's messages. */
export const ORIGIN_HEADER = 'origin';

/**
 * Stamps every published message with the publishing service (unless the caller set one), so
 * consumers can tell other services' messages from this service's own and never loop.
 */
export function withOrigin(bus: Bus, origin: string): Bus {
  return {
    kind: bus.kind,
    publish: (topic, messages, options) =>
      bus.publish(
        topic,
        messages.map((message) => (message.headers?.[ORIGIN_HEADER] !== undefined ? message : { ...message, headers: { ...message.headers, [ORIGIN_HEADER]: origin } })),
        options,
      ),
    subscribe: (topic, group, handler) => bus.subscribe(topic, group, handler),
    close: () => bus.close(),
  };
}

export const originOf = (headers: Record<string, string>): string | undefined => headers[ORIGIN_HEADER];
