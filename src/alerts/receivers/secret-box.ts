import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/** A sealed secret: base64 of IV (12 bytes), GCM tag (16 bytes) and ciphertext, and the id of its key. */
export interface Sealed {
  ciphertext: string;
  keyId: string;
}

/**
 * AES-256-GCM over receiver secrets. The current key seals; the current and the previous keys
 * open (rotation). `context` is bound as associated data, so a box copied to another tenant's
 * row does not open there.
 */
export interface SecretBox {
  readonly keyId: string;
  seal(plaintext: string, context: string): Sealed;
  /** Throws when the key is unknown or the box was tampered with. */
  open(sealed: Sealed, context: string): string;
}

const IV_BYTES = 12;
const TAG_BYTES = 16;

export class UnknownKeyError extends Error {
  constructor(readonly keyId: string) {
    super(`receiver secret is sealed with key ${keyId}, which is neither RECEIVER_SECRETS_KEY nor in RECEIVER_SECRETS_KEY_PREVIOUS`);
    this.name = 'UnknownKeyError';
  }
}

/** A 32-byte key from its base64 form; throws a message naming what is wrong, never the key. */
export function decodeKey(base64: string): Buffer {
  const key = Buffer.from(base64, 'base64');
  if (key.length !== 32 || key.toString('base64') !== base64) throw new RangeError('must be 32 random bytes in base64 (openssl rand -base64 32)');
  return key;
}

/** A key's id: derived from the key, so a rotation needs no other setting. Reveals nothing usable about it. */
export function keyIdOf(key: Buffer): string {
  return `k1-${createHash('sha256').update('tenant-receivers-key-id').update(key).digest('hex').slice(0, 16)}`;
}

export function createSecretBox(currentBase64: string, previousBase64: readonly string[] = []): SecretBox {
  const current = decodeKey(currentBase64);
  const keyId = keyIdOf(current);
  const keys = new Map<string, Buffer>([[keyId, current]]);
  for (const encoded of previousBase64) {
    const key = decodeKey(encoded);
    if (!keys.has(keyIdOf(key))) keys.set(keyIdOf(key), key);
  }
  return {
    keyId,
    seal(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', current, iv, { authTagLength: TAG_BYTES });
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return { ciphertext: Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64'), keyId };
    },
    open(sealed, context) {
      const key = keys.get(sealed.keyId);
      if (key === undefined) throw new UnknownKeyError(sealed.keyId);
      const raw = Buffer.from(sealed.ciphertext, 'base64');
      if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('receiver secret is truncated');
      const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    },
  };
}
