import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/fixtures/**', 'node_modules/**'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    // Results are read by .ci/run for its closing line.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
  },
});
