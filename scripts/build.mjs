// @ts-check
/**
 * `npm run build`: compiles src/ into dist/, copies the SQL migrations beside the compiled code
 * and writes the embedded database's seed (src/platform/db/pglite.ts, PGLITE_SEED_FILE).
 *
 * `--if-stale` (npm install/ci through `prepare`, and `npm start`) builds only when an input is
 * newer than the last build, so a start after install does not spend ~20 s in tsc.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Written last by a build that succeeded: the time that build started, in ms since the epoch. */
const STAMP = join(ROOT, 'dist', '.build-started-at');
/** What the build reads: a change to any of them makes dist/ stale (a new PGlite, a new seed format). */
const INPUTS = ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json', 'package-lock.json', 'scripts/build.mjs'];

/** @param {string} path @returns {number} the newest modification time under path, 0 when it does not exist */
function newestMtime(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs; // a deleted file changes its directory only
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

/** @returns {string | undefined} why dist/ must be built, or undefined when it is current */
function staleReason() {
  if (!existsSync(STAMP) || !existsSync(join(ROOT, 'dist', 'main.js'))) return 'dist/ has no complete build';
  const builtAt = Number(readFileSync(STAMP, 'utf8'));
  const changed = INPUTS.filter((input) => newestMtime(join(ROOT, input)) > builtAt);
  return changed.length === 0 ? undefined : `changed since the last build: ${changed.join(', ')}`;
}

async function build() {
  const startedAt = Date.now();
  rmSync(STAMP, { force: true });
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    process.stderr.write('TypeScript is missing: run npm install (with the dev dependencies) to build.\n');
    process.exit(1);
  }
  const compiled = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (compiled.status !== 0) process.exit(compiled.status ?? 1);
  cpSync(join(ROOT, 'src/platform/db/migrations'), join(ROOT, 'dist/platform/db/migrations'), { recursive: true });
  /** @type {{ writePgliteSeed(): Promise<void> }} */
  const pglite = await import(pathToFileURL(join(ROOT, 'dist/platform/db/pglite.js')).href);
  await pglite.writePgliteSeed();
  writeFileSync(STAMP, String(startedAt));
}

if (process.argv.includes('--if-stale')) {
  const reason = staleReason();
  if (reason !== undefined) {
    process.stdout.write(`Building (${reason})...\n`);
    await build();
  }
} else {
  await build();
}
