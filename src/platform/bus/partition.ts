/** Stable 32-bit hash of a message key: the same key always picks the same partition or member. */
export function keyHash(key: string): number {
  let value = 0;
  for (let index = 0; index < key.length; index += 1) value = (Math.imul(value, 31) + key.charCodeAt(index)) >>> 0;
  return value;
}
