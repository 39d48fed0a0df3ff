import { AppError } from '../errors.js';

export const CHANNELS = ['email', 'slack', 'pagerduty', 'webhook'] as const;
export type ChannelName = (typeof CHANNELS)[number];

export function isChannel(value: string): value is ChannelName {
  return (CHANNELS as readonly string[]).includes(value);
}

/** Validates channel names given by a user; an unknown one is a 400 with its own code. */
export function parseChannels(values: readonly string[], field: string): ChannelName[] {
  const unknown = values.filter((value) => !isChannel(value));
  if (unknown.length > 0) {
    throw new AppError('UNKNOWN_CHANNEL', `Unknown notification channel: ${unknown.join(', ')}`, { details: { field, unknown, allowed: CHANNELS } });
  }
  return [...new Set(values)].filter(isChannel);
}
