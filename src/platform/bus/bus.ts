/** The event bus port: topics with keyed messages, consumer groups and acknowledgements. */
export const TOPICS = {
  metrics: 'metrics-stream',
  alerts: 'alerts-stream',
  fraud: 'fraud-events',
} as const;

export type Topic = (typeof TOPICS)[keyof typeof TOPICS] | (string & {});

export const CONSUMER_GROUP = 'monitoring-metrics-group';

export interface OutgoingMessage {
  /** Messages with the same key are delivered in publish order. */
  key?: string;
  value: unknown;
  headers?: Record<string, string>;
}

export interface DeliveredMessage {
  topic: string;
  key: string | undefined;
  /**
   * Read-only: the in-process bus hands every consumer group the value that was published, not a
   * copy (its top level is frozen); a handler that needs a changed value builds a new one.
   */
  readonly value: unknown;
  headers: Record<string, string>;
  /** 1 on first delivery, higher on redelivery. */
  attempt: number;
}

export interface PublishOptions {
  /** 'all' waits for every in-sync replica (alerts and fraud events). */
  acks?: 'leader' | 'all';
}

export type MessageHandler = (message: DeliveredMessage) => Promise<void>;

export interface Subscription {
  close(): Promise<void>;
}

export interface ConsumerLag {
  topic: string;
  group: string;
  lag: number;
}

export interface Bus {
  readonly kind: 'memory' | 'redis' | 'kafka';
  /** Resolves once the broker (or the in-process queue) has accepted every message. */
  publish(topic: Topic, messages: OutgoingMessage[], options?: PublishOptions): Promise<void>;
  /**
   * Members of one group share the topic's messages; a message whose handler throws is
   * redelivered, and parked on `<topic>.parked` after too many attempts.
   */
  subscribe(topic: Topic, group: string, handler: MessageHandler): Promise<Subscription>;
  /** Messages not yet delivered to this process's consumer groups, where the broker reports it. */
  readonly lag?: () => Promise<ConsumerLag[]>;
  close(): Promise<void>;
}

export const parkedTopic = (topic: string) => `${topic}.parked`;
