import { createHash } from 'node:crypto';

/** Sorted `k="v"` rendering of a label set: the identity of a series or a group. */
export function canonicalLabels(labels: Record<string, string>): string {
  return `{${Object.keys(labels)
    .sort()
    .map((key) => `${key}=${JSON.stringify(labels[key])}`)
    .join(',')}}`;
}

/** One alert per rule and label set: the fingerprint is a hash of both (annotations do not count). */
export function fingerprintOf(ruleId: string, labels: Record<string, string>): string {
  return createHash('sha256').update(`${ruleId}\n${canonicalLabels(labels)}`).digest('hex').slice(0, 32);
}
