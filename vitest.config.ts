import { defineConfig } from 'vitest/config';

// raw-socket's native addon cannot load in worker threads: run every file in a
// forked child process. E2E files create network namespaces with unique names,
// so files may run in parallel.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
});
