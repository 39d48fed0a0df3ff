import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global.setup.ts'],
    setupFiles: ['test/support/worker-database.setup.ts'],
    pool: 'forks',
    // Three on this 2-core machine: files also wait (receivers' timeouts, child processes, peer
    // servers), and a third file fills those waits. Measured quiet: embedded 246 s with 2, 228 s
    // with 3; PostgreSQL and Redis 202 s with 2, 166 s with 3.
    maxWorkers: 3,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
