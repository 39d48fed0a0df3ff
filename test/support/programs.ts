import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Tests that need a system program (pdfinfo, promtool, redis-server, initdb...). A developer
 * without the program gets those tests skipped with the reason printed, naming the Debian
 * package; CI (`CI=true`, set by .ci/run) gets a failure instead, so a missing program can never
 * silently turn a CI run's tests into skips.
 */
export interface Requirement {
  /** For `it.skipIf` / `describe.skipIf`: true when something is missing and this is not CI. */
  readonly skip: boolean;
  /** What is missing and how to install it, or undefined when everything is there. */
  readonly reason: string | undefined;
}

export interface RequirementOptions {
  /** Environment to read CI and PATH from (tests of this helper pass their own). */
  env?: Record<string, string | undefined>;
  /** Where the skip reason goes (once per reason and process). */
  warn?: (message: string) => void;
}

/** Thrown under CI when a test's system dependency is missing: CI must run every test. */
export class MissingDependencyError extends Error {
  override readonly name = 'MissingDependencyError';
}

/** CI=true (GitHub, GitLab and .ci/run set it); "false" and "0" mean a developer machine. */
export function isCi(env: Record<string, string | undefined> = process.env): boolean {
  const value = env['CI'];
  return value !== undefined && value !== '' && value !== 'false' && value !== '0';
}

/** The executable file `program` resolves to on PATH, or undefined. */
export function findOnPath(program: string, path: string | undefined = process.env['PATH']): string | undefined {
  for (const directory of (path ?? '').split(delimiter)) {
    if (directory === '') continue;
    const candidate = join(directory, program);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

const printed = new Set<string>();

/**
 * Decides for a dependency found missing for `reason` (undefined = present): skip with the reason
 * printed once outside CI, throw MissingDependencyError under CI. Called at a test file's top
 * level, the throw fails that file, which is how CI reports it.
 */
export function requireDependency(reason: string | undefined, options: RequirementOptions = {}): Requirement {
  if (reason === undefined) return { skip: false, reason: undefined };
  const env = options.env ?? process.env;
  if (isCi(env)) throw new MissingDependencyError(`${reason}. CI=${env['CI'] ?? ''} runs every test instead of skipping it: install what is missing (.ci/run installs the packages the tests need)`);
  const message = `[tests] skipped: ${reason}`;
  if (!printed.has(message)) {
    printed.add(message);
    (options.warn ?? console.warn)(message);
  }
  return { skip: true, reason };
}

/** `requireProgram(['pdfinfo', 'pdftotext'], 'poppler-utils')`: every program must be on PATH. */
export function requireProgram(programs: string | readonly string[], debianPackage: string, options: RequirementOptions = {}): Requirement {
  const path = (options.env ?? process.env)['PATH'];
  const missing = (typeof programs === 'string' ? [programs] : programs).filter((program) => findOnPath(program, path) === undefined);
  const reason = missing.length === 0 ? undefined : `${missing.join(', ')} not found on PATH (Debian package ${debianPackage}: apt-get install ${debianPackage})`;
  return requireDependency(reason, options);
}
