import { writePgliteSeed } from '../../src/platform/db/pglite.js';

/**
 * Vitest global setup: every test app on the embedded database starts from a seed written once
 * per run (an empty, migrated database) instead of running initdb and every migration itself,
 * about 2.5 s of CPU per app on this 2-core machine.
 */
export default async function setup(): Promise<void> {
  await writePgliteSeed();
}
