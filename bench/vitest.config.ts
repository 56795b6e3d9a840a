import { defineConfig } from 'vitest/config';

// The benchmark's own helpers (parsers, statistics, config writer); not part
// of `npm test`: run with `npx vitest run -c bench/vitest.config.ts`.
export default defineConfig({
  test: {
    root: '.',
    pool: 'forks',
    include: ['bench/test/**/*.test.ts'],
  },
});
