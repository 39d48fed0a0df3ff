import { describe, expect, it } from 'vitest';
import { createUserTokenVerifier, jwtKeyFrom, signUserToken } from '../../src/auth/jwt.js';

const SECRET = 'token-cache-secret-that-is-long-enough-0123456789';
const TENANT = '4b3c1a3e-7d2e-4f7a-9f55-1c2d3e4f5a6b';

describe('remembered user token verdicts', () => {
  it('refuses a remembered token once it has expired, and a token signed with another key', async () => {
    let now = Date.now();
    const verify = createUserTokenVerifier(jwtKeyFrom({ secret: SECRET }), undefined, { now: () => now, capacity: 2 });
    const expiresAt = Math.floor(now / 1000) + 600;
    const token = await signUserToken(SECRET, { sub: 'alice', tenant_id: TENANT, roles: ['viewer'] }, expiresAt);
    expect(await verify(token)).toEqual({ kind: 'user', subject: 'alice', tenantId: TENANT, roles: ['viewer'] });
    expect(await verify(token)).toMatchObject({ subject: 'alice' });
    now = expiresAt * 1000;
    await expect(verify(token)).rejects.toMatchObject({ code: 'UNAUTHENTICATED', details: { reason: 'expired' } });

    const forged = await signUserToken(`${SECRET}-other`, { sub: 'mallory', tenant_id: TENANT, roles: ['admin'] }, '1h');
    await expect(verify(forged)).rejects.toMatchObject({ details: { reason: 'bad_signature' } });
  });

});
