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
    setupFiles: ['robustest/vitest'],
    testTimeout: 300_000,
    pool: 'forks',
  },
});
