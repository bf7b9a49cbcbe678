import { defineConfig } from 'vitest/config';

// Each test file owns its database and Redis key prefix, so files run in parallel safely.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    reporters: ['default'],
  },
});
