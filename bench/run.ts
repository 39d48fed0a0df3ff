import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * Runs every bench/*.bench.ts in its own process (one at a time: the machine has two cores),
 * or only those whose name contains the first argument. Each bench measures its own baseline in
 * the same run and updates its section of bench/RESULTS.md.
 */
const dir = fileURLToPath(new URL('.', import.meta.url));
const filter = process.argv[2];
const files = readdirSync(dir)
  .filter((file) => file.endsWith('.bench.ts') && (filter === undefined || file.includes(filter)))
  .sort();
let failed = 0;
for (const file of files) {
  process.stdout.write(`\n== ${file}\n`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', `${dir}${file}`], { stdio: 'inherit', env: process.env });
  if (result.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);
