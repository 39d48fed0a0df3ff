import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global.setup.ts'],
    setupFiles: ['test/support/worker-database.setup.ts'],
    pool: 'forks',
    // Two cores: more parallel files only contend for CPU (PGlite and model training are CPU-bound).
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
