/**
 * A real Jest process runs test/fixtures/projects/jest-app against the packed package: one Jest
 * project with `robustest/jest` on the global expect, one with `robustest/jest-globals` and
 * injectGlobals off. Its JSON results are checked: verdicts, messages, pictures and snapshots.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { childEnv, makeProject, packedPackage, readResults, run, type RunResult } from './fixtures/projects/harness.js';

const projects: string[] = [];
let pkg: string;
let dir: string;
let first: RunResult;
let results: ReturnType<typeof readResults>;

function jest(cwd: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run([join(cwd, 'node_modules', 'jest', 'bin', 'jest.js'), '--json', '--outputFile', 'results.json', ...args], cwd, childEnv(env));
}

const messageOf = (failure: string): string => failure.split(/\n\s+at /)[0]!;
const snapshotFile = (cwd: string): string => join(cwd, '__snapshots__', 'global.test.cjs.robustness.json');
const CURVE_KEY = 'stripes the robustness curve matches its snapshot 1';
const curveResult = (cwd: string) => readResults(join(cwd, 'results.json')).get('the robustness curve matches its snapshot')!;

beforeAll(async () => {
  pkg = await packedPackage();
  dir = makeProject('jest-app', pkg);
  projects.push(dir);
  first = await jest(dir, ['--ci=false']);
  results = readResults(join(dir, 'results.json'));
});
afterAll(() => {
  for (const p of projects) rmSync(p, { recursive: true, force: true });
});

describe('a real Jest run of the packed package', () => {
  test('runs both projects and fails exactly the tests that must fail', () => {
    expect(first.status).toBe(1);
    const statuses = Object.fromEntries([...results].map(([name, r]) => [name, r.status]));
    expect(statuses).toEqual({
      'a fragile model fails with the message': 'failed',
      '.not passes on the fragile model': 'passed',
      'ε = 0 reduces to clean accuracy': 'passed',
      'a bad argument is refused': 'failed',
      'the robustness curve matches its snapshot': 'passed',
      'a report snapshot with the serializer': 'passed',
      'an un-awaited assertion fails its test': 'failed',
      'report matchers assert on one attack run': 'passed',
    });
    const json = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { numTotalTests: number; numFailedTests: number };
    // Both projects contribute: 7 global tests and 3 through @jest/globals, two of them "a fragile model fails" and ".not passes".
    expect([json.numTotalTests, json.numFailedTests]).toEqual([10, 4]);
  });

  test('a fragile model fails with the full message, on the global expect and through @jest/globals', () => {
    const json = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { testResults: { name: string; assertionResults: { title: string; failureMessages: string[] }[] }[] };
    const fragile = json.testResults
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((f) => f.assertionResults.find((t) => t.title === 'a fragile model fails with the message')!.failureMessages[0]!.replace(/\u001b\[[0-9;]*m/g, ''));
    expect(fragile).toHaveLength(2);
    expect(messageOf(fragile[0]!)).toMatchInlineSnapshot(`
      "Error: expect(model).toBeRobustAgainst(attack, ε, options)

      Expected robust accuracy: ≥ 0.9
      Received robust accuracy:   0.4

        Attack           FGSM (L∞, 1 step)
        ε                0.1 (L∞)
        Model            stripes
        Clean accuracy   0.800 (8 of 10 samples)
        Robust accuracy  0.400 (4 of 10 samples)
        Broken           4 of the 8 correctly classified samples; 2 misclassified before the attack

      Counterexamples (3 of 4):
        sample 0: class 0 → 1 (confidence 0.881); L∞ 0.100, L2 0.800, L0 64
        sample 3: class 0 → 1 (confidence 0.953); L∞ 0.100, L2 0.800, L0 64
        sample 4: class 1 → 0 (confidence 0.881); L∞ 0.100, L2 0.800, L0 64
        … and 1 more

      Seed 11 (backend wasm): replay it with { seed: 11 } in the options of toBeRobustAgainst (or configureRobustest({ seed: 11 })).

      Picture: __robustness__/global.test.cjs/stripes-a-fragile-model-fails-with-the-message--fgsm-0.1-c4611658.png"
    `);
    expect(messageOf(fragile[1]!)).toContain('Picture: __robustness__/imported.test.cjs/stripes-through-jest-globals-a-fragile-model-fails-with-the-message--fgsm-0.1-894a06b8.png');
    expect(messageOf(fragile[1]!)).toContain('Seed 0 (backend wasm)');
    expect(existsSync(join(dir, '__robustness__', 'global.test.cjs', 'stripes-a-fragile-model-fails-with-the-message--fgsm-0.1-c4611658.png'))).toBe(true);
    expect(existsSync(join(dir, '__robustness__', 'imported.test.cjs', 'stripes-through-jest-globals-a-fragile-model-fails-with-the-message--fgsm-0.1-894a06b8.png'))).toBe(true);
  });

  test('bad arguments and un-awaited assertions are refused with clear errors', () => {
    expect(messageOf(results.get('a bad argument is refused')!.failureMessages[0]!)).toBe(
      [
        'RobustestError: toBeRobustAgainst(attack, ε, { on, atLeast }): the first argument must be an attack.',
        '  Expected: an Attack, e.g. fgsm() or pgd({ steps: 40 })',
        '  Received: function fgsm (call the factory: fgsm())',
      ].join('\n'),
    );
    expect(messageOf(results.get('an un-awaited assertion fails its test')!.failureMessages[0]!)).toContain(
      'expect(…).toBeRobustAgainst() was still running when the test ended: robustness matchers are async and must be awaited',
    );
  });

  test('the serializer writes a rounded report without backend or timings into the .snap file', () => {
    const snap = readFileSync(join(dir, '__snapshots__', 'global.test.cjs.snap'), 'utf8');
    expect(snap).toContain('RobustnessReport {');
    expect(snap).toContain('"adversarialConfidence": 0.881,');
    expect(snap).not.toMatch(/backend|seconds|gradientEvaluations|"adversarial":/);
  });
});

describe('toMatchRobustnessSnapshot under Jest', () => {
  test('the first local run stores the curve', () => {
    expect(JSON.parse(readFileSync(snapshotFile(dir), 'utf8')).curves[CURVE_KEY].robustAccuracy).toEqual([0.4, 0.2]);
  });

  test('a --ci run passes on the stored curve and fails on a regression', async () => {
    const same = await jest(dir, ['--ci', '--selectProjects', 'global', '-t', 'curve']);
    expect(curveResult(dir).status).toBe('passed');
    expect(same.status).toBe(0);

    const regressed = await jest(dir, ['--ci', '--selectProjects', 'global', '-t', 'curve'], { ROBUSTEST_FIXTURE_REGRESSION: '1' });
    expect(regressed.status).toBe(1);
    const failure = messageOf(curveResult(dir).failureMessages[0]!);
    expect(failure).toContain(`Robust accuracy fell more than the tolerance (0.05) below Snapshot "${CURVE_KEY}" in __snapshots__/global.test.cjs.robustness.json:`);
    expect(failure).toContain('ε 0.1: stored 0.4, received 0 (-0.400)');
  });

  test('a --ci run never writes a new curve', async () => {
    const fresh = makeProject('jest-app', pkg);
    projects.push(fresh);
    const ci = await jest(fresh, ['--ci', '--selectProjects', 'global', '-t', 'curve']);
    expect(ci.status).toBe(1);
    expect(messageOf(curveResult(fresh).failureMessages[0]!)).toContain(
      `No robustness curve is stored for "${CURVE_KEY}", and new snapshots are not written in CI mode (--ci, or CI=true).`,
    );
    expect(existsSync(snapshotFile(fresh))).toBe(false);
  });
});
