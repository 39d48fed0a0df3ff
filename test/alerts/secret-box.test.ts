import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSecretBox, decodeKey, keyIdOf, UnknownKeyError } from '../../src/alerts/receivers/secret-box.js';

const newKey = () => randomBytes(32).toString('base64');

describe('receiver secret box (AES-256-GCM)', () => {
  it('seals with a fresh IV each time and opens only in the context it was sealed for', () => {
    const box = createSecretBox(newKey());
    const first = box.seal('routing-key-0123456789', 'tenant_receivers:a:pagerduty');
    const second = box.seal('routing-key-0123456789', 'tenant_receivers:a:pagerduty');
    expect(first.ciphertext).not.toBe(second.ciphertext);
    expect(Buffer.from(first.ciphertext, 'base64').toString('utf8')).not.toContain('routing-key');
    expect(first.keyId).toBe(box.keyId);
    expect(box.open(first, 'tenant_receivers:a:pagerduty')).toBe('routing-key-0123456789');
    expect(() => box.open(first, 'tenant_receivers:b:pagerduty')).toThrow();
  });

  it('refuses a tampered box', () => {
    const box = createSecretBox(newKey());
    const sealed = box.seal('secret', 'ctx');
    const raw = Buffer.from(sealed.ciphertext, 'base64');
    raw[raw.length - 1] = (raw[raw.length - 1] ?? 0) ^ 1;
    expect(() => box.open({ ...sealed, ciphertext: raw.toString('base64') }, 'ctx')).toThrow();
  });

  it('opens with a previous key after rotation and names a key it does not know', () => {
    const [oldKey, newKeyValue, strangerKey] = [newKey(), newKey(), newKey()];
    const sealedOld = createSecretBox(oldKey).seal('webhook-secret', 'ctx');
    const rotated = createSecretBox(newKeyValue, [oldKey]);
    expect(rotated.keyId).toBe(keyIdOf(decodeKey(newKeyValue)));
    expect(rotated.open(sealedOld, 'ctx')).toBe('webhook-secret');
    expect(rotated.seal('x', 'ctx').keyId).toBe(rotated.keyId);
    expect(() => createSecretBox(strangerKey).open(sealedOld, 'ctx')).toThrow(UnknownKeyError);
  });

  it('takes 32-byte keys only', () => {
    expect(() => createSecretBox(randomBytes(16).toString('base64'))).toThrow(/32 random bytes/);
    expect(() => createSecretBox(newKey(), ['not-base64!'])).toThrow(/32 random bytes/);
  });
});
