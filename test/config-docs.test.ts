import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envExample, readmeWithTable } from '../scripts/config-docs.js';

describe('documented configuration', () => {
  it('.env.example lists every variable the service reads (run `npm run docs:config` after adding one)', () => {
    expect(readFileSync('.env.example', 'utf8')).toBe(envExample());
  });

  it('the README configuration table is current', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readmeWithTable(readme)).toBe(readme);
  });
});
