import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const root = fileURLToPath(new URL('..', import.meta.url));

// The example suite imports robustest exactly as a user would; here the names point at the sources.
export default defineConfig({
  root,
  resolve: {
    alias: [
      { find: /^robustest\/vitest$/, replacement: `${root}matchers/vitest.ts` },
      { find: /^robustest\/reporter$/, replacement: `${root}matchers/reporter.ts` },
      { find: /^robustest$/, replacement: `${root}src/index.ts` },
    ],
  },
  test: {
    include: ['examples/**/*.robust.test.ts'],
    // A user's config says setupFiles: ['robustest/vitest'].
    setupFiles: [`${root}matchers/vitest.ts`],
    // A table of every robustness assertion at the end of the run, and its HTML report
    // (users write ['robustest/reporter', { outputFile: … }]).
    reporters: ['default', [`${root}matchers/reporter.ts`, { outputFile: process.env.ROBUSTEST_REPORT ?? 'examples/robustness-report.html' }]],
    testTimeout: 300_000,
    pool: 'forks',
  },
});
