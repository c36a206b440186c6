/**
 * onnxruntime-node inside Jest: Jest runs a test file in a realm of its own, and onnxruntime-node's
 * outputs (typed arrays of Node's realm) fail its own Tensor check there on every run. The
 * executor then counts as unavailable: ROBUSTEST_ENGINE=onnxruntime is an error that says so,
 * and without it the model runs on the tfjs engine and gets its verdict.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { childEnv, makeProject, packedPackage, run, stripAnsi } from '../fixtures/projects/harness.js';

const projects: string[] = [];
afterAll(() => {
  for (const dir of projects) rmSync(dir, { recursive: true, force: true });
});

const TEST = `
const { classifier, pgd } = require('robustest');
const { stripesModel, samples: on } = require('./stripes-layers.cjs');
const clf = classifier(stripesModel(), { bounds: [0, 1] });
test('a verdict', async () => {
  await expect(clf).toBeRobustAgainst(pgd({ steps: 10 }), 0.04, { on, atLeast: 0.6 });
});
`;

describe('onnxruntime under Jest', () => {
  it('ROBUSTEST_ENGINE=onnxruntime is a clear error naming the realm; unset, the tfjs engine gives the verdict', async () => {
    const pkg = await packedPackage();
    const dir = makeProject('orphans-jest', pkg, { overlays: ['orphans-model'] });
    projects.push(dir);
    writeFileSync(join(dir, 'orphans.test.cjs'), TEST);
    const jest = join(dir, 'node_modules', 'jest', 'bin', 'jest.js');
    const forced = await run([jest], dir, childEnv({ ROBUSTEST_ENGINE: 'onnxruntime' }));
    const forcedOutput = stripAnsi(forced.stdout + forced.stderr);
    expect(forced.status, forcedOutput).toBe(1);
    expect(forcedOutput).toContain("ROBUSTEST_ENGINE=onnxruntime, but onnxruntime cannot run this model: onnxruntime-node cannot run inside this test runner's realm (Jest)");
    expect(forcedOutput).not.toMatch(/must be type of/);
    const chosen = await run([jest], dir, childEnv());
    const chosenOutput = stripAnsi(chosen.stdout + chosen.stderr);
    expect(chosen.status, chosenOutput).toBe(0);
    expect(chosenOutput).toMatch(/Tests:\s+1 passed, 1 total/);
  }, 300_000);
});
