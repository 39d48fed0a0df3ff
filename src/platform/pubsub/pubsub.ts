/**
 * Fire-and-forget broadcast between the instances of the service (WebSocket fan-out).
 * Unlike the bus there is no group, no acknowledgement and no replay: every live
 * subscriber of a channel gets each message once, or not at all if it was down.
 */
export type PubSubHandler = (message: string) => void;

export interface PubSub {
  readonly kind: 'memory' | 'redis';
  /** True when other instances can be reached (Redis); false for the in-process adapter. */
  readonly crossInstance: boolean;
  publish(channel: string, message: string): Promise<void>;
  subscribe(channel: string, handler: PubSubHandler): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
