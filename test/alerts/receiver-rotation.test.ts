import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeKey, keyIdOf } from '../../src/alerts/receivers/secret-box.js';
import { ManualClock } from '../../src/platform/clock.js';
import { createTestApp, newTenant, type TestApp } from '../support/app.js';
import { TEST_DATABASE_URL } from '../support/env.js';
import { HttpReceiver, okResponder, type ReceivedRequest } from '../support/receivers.js';
import { putReceiver } from './fixtures.js';

// Key rotation of receiver secrets across restarts. Embedded: a real data directory so each app
// opens the same database; PostgreSQL (TEST_DATABASE_URL): the apps share the test database.
const dataDir = mkdtempSync(join(tmpdir(), 'receiver-rotation-'));
const clock = new ManualClock(Date.UTC(2026, 2, 5, 12));
const [OLD_KEY, NEW_KEY] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
const SECRET = 'rotating-tenant-signing-secret-42';
let hook: HttpReceiver;
let running: TestApp | undefined;

beforeAll(async () => {
  hook = await new HttpReceiver(okResponder).up();
});
afterAll(async () => {
  await running?.close();
  await hook.down();
  rmSync(dataDir, { recursive: true, force: true });
});

async function start(key: string, previous = ''): Promise<TestApp> {
  await running?.close();
  running = await createTestApp({ clock, env: { DATA_DIR: dataDir, RECEIVER_SECRETS_KEY: key, RECEIVER_SECRETS_KEY_PREVIOUS: previous } });
  return running;
}

async function stored(t: TestApp, tenantId: string) {
  const result = await t.container.db.asSystem((tx) => tx.query<{ secret_ciphertext: string; secret_key_id: string }>('SELECT secret_ciphertext, secret_key_id FROM tenant_receivers WHERE tenant_id = $1', [tenantId]));
  return result.rows[0];
}

async function alertAndDeliver(t: TestApp, tenantId: string, fingerprint: string) {
  await t.container.alerts.raise(tenantId, { fingerprint, name: `rotation_${fingerprint}`, type: 'threshold', severity: 'warning', message: 'probe', source: 'test' });
  clock.advance(30_000);
  await t.container.alerting.dispatcher.dispatchTenant(tenantId);
  return t.container.alerting.delivery.deliverDue({ tenantId });
}

const signedWith = (secret: string, request: ReceivedRequest | undefined) =>
  request !== undefined && request.headers['x-monitoring-signature'] === `sha256=${createHmac('sha256', secret).update(`${String(request.headers['x-monitoring-timestamp'])}.${request.raw}`).digest('hex')}`;

describe('receiver secret key rotation', () => {
  it('secrets sealed with the previous key still open, are re-sealed with the new key at start, and the previous key can then be dropped', async () => {
    const tenant = newTenant();
    const first = await start(OLD_KEY);
    await putReceiver(first, tenant, 'webhook', { url: `${hook.url}/hooks/rotation`, secret: SECRET });
    const before = await stored(first, tenant);
    expect(before?.secret_key_id).toBe(keyIdOf(decodeKey(OLD_KEY)));

    // RECEIVER_SECRETS_KEY=new, RECEIVER_SECRETS_KEY_PREVIOUS=old: the start re-seals the secret.
    const second = await start(NEW_KEY, OLD_KEY);
    const after = await stored(second, tenant);
    expect(after?.secret_key_id).toBe(keyIdOf(decodeKey(NEW_KEY)));
    expect(after?.secret_ciphertext).not.toBe(before?.secret_ciphertext);
    // Only this file's rows are in its own embedded database; PostgreSQL also holds other files' rows under their keys.
    if (TEST_DATABASE_URL === undefined) expect(second.container.warnings.filter((warning) => warning.includes('receiver secrets'))).toEqual([]);
    expect(await alertAndDeliver(second, tenant, 'one')).toMatchObject({ delivered: 1 });
    expect(signedWith(SECRET, hook.accepted.at(-1))).toBe(true);

    // The previous key dropped: the re-sealed secret still opens.
    const third = await start(NEW_KEY);
    expect(await alertAndDeliver(third, tenant, 'two')).toMatchObject({ delivered: 1 });
    expect(hook.accepted).toHaveLength(2);
    expect(signedWith(SECRET, hook.accepted.at(-1))).toBe(true);
  }, 240_000); // three app starts on a data directory (migrations, WASM start) take a while on a busy machine
});
