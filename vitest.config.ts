import { defineConfig } from 'vitest/config';

// raw-socket's native addon cannot load in worker threads: run every file in a
// forked child process. E2E files create network namespaces with names and
// subnets of their own (test/support/labs.ts), so files may run in parallel.
// bench/test holds the benchmark's pure helpers (no namespaces, no agents).
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts', 'bench/test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
