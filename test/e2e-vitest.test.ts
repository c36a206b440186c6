/**
 * A real Vitest 4 process (this repository's, on the running Node) runs the fixture project against
 * the packed package; the checks are in test/fixtures/projects/vitest-run.ts.
 */
import { describeVitestRun } from './fixtures/projects/vitest-run.js';

describeVitestRun({ label: 'Vitest 4', major: 4, overlays: [] });
