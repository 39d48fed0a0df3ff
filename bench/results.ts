import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { nearestRank } from '../src/platform/stats.js';

const RESULTS = fileURLToPath(new URL('./RESULTS.md', import.meta.url));

export function machine(): string {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  return `${cpus().length} x ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** Replaces (or appends) the section `## <title>` of bench/RESULTS.md with fresh figures. */
export function writeSection(title: string, body: string): void {
  const current = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '# Benchmark results\n';
  const heading = `## ${title}`;
  const section = `${heading}\n\n_${new Date().toISOString()} on ${machine()}_\n\n${body.trim()}\n`;
  const start = current.indexOf(`${heading}\n`);
  if (start === -1) {
    writeFileSync(RESULTS, `${current.trimEnd()}\n\n${section}`);
    return;
  }
  const next = current.indexOf('\n## ', start + heading.length);
  writeFileSync(RESULTS, current.slice(0, start) + section + (next === -1 ? '' : current.slice(next + 1)));
}

/** Nearest-rank percentile (`p` in 0..100) of an ascending array. */
export function percentile(sorted: readonly number[], p: number): number {
  return nearestRank(sorted, p / 100);
}
