import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve } from 'node:path';

/** Generated files under REPORTS_DIR as `<tenant>/<report>/<history>.<ext>`; paths never leave that directory. */
export interface ReportFiles {
  write(tenantId: string, reportId: string, historyId: string, extension: string, content: Buffer): Promise<{ path: string; bytes: number }>;
  /** The file's content, or null when it is no longer there. */
  read(path: string): Promise<Buffer | null>;
  removeReport(tenantId: string, reportId: string): Promise<void>;
}

export function createReportFiles(directory: string): ReportFiles {
  const root = resolve(directory);
  const inside = (path: string): string => {
    const full = resolve(root, path);
    const rel = relative(root, full);
    if (rel.startsWith('..') || isAbsolute(rel)) throw new Error(`report path ${path} is outside REPORTS_DIR`);
    return full;
  };
  return {
    async write(tenantId, reportId, historyId, extension, content) {
      const relativePath = join(tenantId, reportId, `${historyId}.${extension}`);
      const full = inside(relativePath);
      await mkdir(inside(join(tenantId, reportId)), { recursive: true });
      // Written aside then renamed: a download never sees half a file.
      const partial = `${full}.partial`;
      await writeFile(partial, content);
      await rename(partial, full);
      return { path: relativePath, bytes: content.byteLength };
    },
    async read(path) {
      try {
        return await readFile(inside(path));
      } catch (error) {
        if (error instanceof Error && 'code' in error && error.code === 'ENOENT') return null;
        throw error;
      }
    },
    async removeReport(tenantId, reportId) {
      await rm(inside(join(tenantId, reportId)), { recursive: true, force: true });
    },
  };
}
