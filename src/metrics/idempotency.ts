import { createHash } from 'node:crypto';
import { AppError, ValidationError } from '../errors.js';
import type { SampleInput } from './sample.js';

/** 1 to 255 printable ASCII characters (space to `~`), as in the HTTP header and the bus header. */
export const IDEMPOTENCY_KEY_PATTERN = '^[\\x20-\\x7E]{1,255}$';
const KEY = new RegExp(IDEMPOTENCY_KEY_PATTERN);

export function checkIdempotencyKey(key: string): void {
  if (!KEY.test(key)) throw new ValidationError('Idempotency key must be 1 to 255 printable ASCII characters', { field: 'idempotency-key' });
}

/**
 * Hex SHA-256 of the batch as the client sent it: per sample name, service, value, sorted labels
 * and the timestamp as an instant (or null when the server stamps it), so a retry of the same
 * batch hashes the same whether it is one sample or `{"metrics":[...]}`, in any label order.
 */
export function batchHashOf(inputs: readonly SampleInput[]): string {
  const canonical = inputs.map((input) => {
    const labels = input.labels ?? {};
    const sorted = Object.keys(labels)
      .sort()
      .map((name) => [name, labels[name]]);
    const timestamp = input.timestamp === undefined ? null : new Date(input.timestamp).toISOString();
    return [input.name, input.service, input.value, sorted, timestamp];
  });
  return createHash('sha256').update(JSON.stringify(canonical)).digest('hex');
}

export function keyReusedError(key: string): AppError {
  return new AppError('IDEMPOTENCY_KEY_REUSED', 'This idempotency key was already used for a different batch; nothing was stored', {
    details: { idempotency_key: key },
  });
}
