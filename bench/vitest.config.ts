import { defineConfig } from 'vitest/config';

// The benchmark's own helpers (parsers, statistics, config writer, log
// predicates) alone: `npx vitest run -c bench/vitest.config.ts`. `npm test`
// runs them too (../vitest.config.ts).
export default defineConfig({
  test: {
    root: '.',
    pool: 'forks',
    include: ['bench/test/**/*.test.ts'],
  },
});
