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
    // A table of every robustness assertion at the end of the run (users write 'robustest/reporter').
    reporters: ['default', `${root}matchers/reporter.ts`],
    testTimeout: 300_000,
    pool: 'forks',
  },
});
