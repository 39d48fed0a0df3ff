import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findOnPath, isCi, MissingDependencyError, requireDependency, requireProgram } from './programs.js';

const NO_SUCH_PROGRAM = 'no-such-program-for-monitoring-tests';
const nodeDirectory = dirname(process.execPath);

describe('requireProgram', () => {
  it('finds a program on PATH and nothing for a name that does not exist', () => {
    expect(findOnPath('node', nodeDirectory)).toBe(process.execPath);
    expect(findOnPath(NO_SUCH_PROGRAM, nodeDirectory)).toBeUndefined();
    expect(findOnPath('node', '')).toBeUndefined();
  });

  it('runs the tests when the program is there, in CI or not', () => {
    for (const CI of [undefined, 'true']) {
      expect(requireProgram('node', 'nodejs', { env: { PATH: nodeDirectory, CI } })).toEqual({ skip: false, reason: undefined });
    }
  });

  it('outside CI skips a test whose program is missing and prints the reason, naming the Debian package, once', () => {
    const printed: string[] = [];
    const options = { env: { PATH: nodeDirectory }, warn: (message: string) => printed.push(message) };
    const first = requireProgram(['node', NO_SUCH_PROGRAM], 'no-such-package', options);
    const again = requireProgram(['node', NO_SUCH_PROGRAM], 'no-such-package', options);
    expect(first.skip).toBe(true);
    expect(first.reason).toBe(`${NO_SUCH_PROGRAM} not found on PATH (Debian package no-such-package: apt-get install no-such-package)`);
    expect(again).toEqual(first);
    expect(printed).toEqual([`[tests] skipped: ${first.reason ?? ''}`]);
  });

  it('under CI fails instead of skipping, with the same reason', () => {
    const printed: string[] = [];
    const requirement = () => requireProgram(NO_SUCH_PROGRAM, 'no-such-package', { env: { PATH: nodeDirectory, CI: 'true' }, warn: (message) => printed.push(message) });
    expect(requirement).toThrow(MissingDependencyError);
    expect(requirement).toThrow(/no-such-program-for-monitoring-tests not found on PATH \(Debian package no-such-package.*CI=true runs every test instead of skipping it/);
    expect(printed).toEqual([]);
  });

  it('takes CI=false and CI=0 for a developer machine', () => {
    expect([undefined, '', 'false', '0'].map((CI) => isCi({ CI }))).toEqual([false, false, false, false]);
    expect(['true', '1', 'yes'].map((CI) => isCi({ CI }))).toEqual([true, true, true]);
    expect(requireDependency('initdb is missing', { env: { CI: 'false' }, warn: () => undefined }).skip).toBe(true);
  });
});

/** A child vitest on test/support/fixtures: what `npm test` shows for a missing program. */
function runFixtures(ci: string | undefined): { status: number | null; output: string } {
  const env: Record<string, string | undefined> = {};
  // The child is a fresh vitest, not a worker of this one.
  for (const [name, value] of Object.entries(process.env)) if (!name.startsWith('VITEST') && name !== 'CI') env[name] = value;
  if (ci !== undefined) env['CI'] = ci;
  const vitest = fileURLToPath(new URL('../../node_modules/vitest/vitest.mjs', import.meta.url));
  const fixtures = fileURLToPath(new URL('./fixtures', import.meta.url));
  const result = spawnSync(process.execPath, [vitest, 'run', '--root', fixtures], { env: { ...env, NO_COLOR: '1', FORCE_COLOR: '0' }, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

describe('a test file needing a missing program, run by vitest', () => {
  it('passes with the test skipped and the reason printed outside CI', () => {
    const { status, output } = runFixtures(undefined);
    expect(output).toContain(`[tests] skipped: ${NO_SUCH_PROGRAM} not found on PATH (Debian package no-such-debian-package`);
    expect(output).toMatch(/1 passed \| 1 skipped/);
    expect(status).toBe(0);
  });

  it('fails under CI=true, saying what to install', () => {
    const { status, output } = runFixtures('true');
    expect(output).toContain('MissingDependencyError');
    expect(output).toContain('Debian package no-such-debian-package');
    expect(output).not.toContain(`[tests] skipped: ${NO_SUCH_PROGRAM}`);
    expect(status).toBe(1);
  });
});
