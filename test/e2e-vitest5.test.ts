/**
 * A real Vitest 5 process on Node 22, both installed from the npm registry into a cache folder on
 * first use (test/fixtures/projects/vitest5.ts), runs the fixture project against the packed
 * package with the Vitest 5 tsconfig; the checks are in test/fixtures/projects/vitest-run.ts.
 */
import { describeVitestRun } from './fixtures/projects/vitest-run.js';
import { vitest5 } from './fixtures/projects/vitest5.js';

describeVitestRun({
  label: 'Vitest 5',
  major: 5,
  overlays: ['vitest5-app'],
  prepare: async () => {
    const { node, modules } = await vitest5();
    return { node, modules: [modules] };
  },
});
