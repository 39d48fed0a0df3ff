import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { resolve } from 'node:path';

/**
 * Usage of the file system holding `path` in percent, computed like df: used / (used + available
 * to unprivileged users). Undefined when the path does not exist (e.g. an in-memory database).
 */
export async function readDiskUsage(path: string): Promise<{ path: string; usagePercent: number } | undefined> {
  const absolute = resolve(path);
  if (!existsSync(absolute)) return undefined;
  const stats = await statfs(absolute);
  const used = stats.blocks - stats.bfree;
  const denominator = used + stats.bavail;
  if (denominator <= 0) return undefined;
  return { path: absolute, usagePercent: (100 * used) / denominator };
}
