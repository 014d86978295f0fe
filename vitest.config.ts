import { defineConfig } from 'vitest/config';

// Test files run one at a time: many start real servers under load on a 2-core machine, and parallel files
// would turn robust effects into timing races.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
