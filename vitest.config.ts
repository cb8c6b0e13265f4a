import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Files start real servers, child processes and redis-servers; on a 2-core
    // machine running every file at once makes timing-sensitive tests flaky.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
