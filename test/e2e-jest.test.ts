/**
 * A real Jest process runs test/fixtures/projects/jest-app against the packed package: one Jest
 * project with `robustest/jest` on the global expect, one with `robustest/jest-globals` and
 * injectGlobals off, and one of TypeScript test files through ts-jest (which type-checks them with
 * the README's tsconfig `types` entry, under `module: commonjs`). Its JSON results are checked:
 * verdicts, messages, pictures, snapshots and types.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { childEnv, makeProject, packedPackage, readResults, run, stripAnsi, type RunResult } from './fixtures/projects/harness.js';
import { FRAGILE_MESSAGE_HEAD } from './fixtures/projects/vitest-run.js';

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
  test('runs the three projects and fails exactly the tests that must fail', () => {
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
    // 7 global tests, 3 through @jest/globals and 3 in TypeScript; "a fragile model fails" in each, "a bad argument" in two.
    expect([json.numTotalTests, json.numFailedTests]).toEqual([13, 6]);
  });

  test('a fragile model fails with the full message, on the global expect, through @jest/globals and in TypeScript', () => {
    const json = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { testResults: { name: string; assertionResults: { title: string; failureMessages: string[] }[] }[] };
    const fragile = json.testResults
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((f) => f.assertionResults.find((t) => t.title === 'a fragile model fails with the message')!.failureMessages[0]!.replace(/\u001b\[[0-9;]*m/g, ''));
    expect(fragile).toHaveLength(3);
    const head = FRAGILE_MESSAGE_HEAD.replace('Error: ', '');
    for (const message of fragile) expect(messageOf(message).replace(/^Error: /, '').slice(0, head.length)).toBe(head);
    expect(messageOf(fragile[0]!)).toContain('Seed 11 (backend wasm): replay it with { seed: 11 }');
    // Each message names its own picture, under the test file's folder, and the file is there.
    const pictures = fragile.map((m) => messageOf(m).match(/^Picture: (.+\.png)$/m)?.[1]);
    expect(pictures.map((p) => p?.replace(/--fgsm-0\.1[\w.-]*\.png$/, ''))).toEqual([
      '__robustness__/global.test.cjs/stripes-a-fragile-model-fails-with-the-message',
      '__robustness__/imported.test.cjs/stripes-through-jest-globals-a-fragile-model-fails-with-the-message',
      '__robustness__/typed.test.ts/stripes-in-typescript-through-ts-jest-a-fragile-model-fails-with-the-message',
    ]);
    for (const picture of pictures) expect(existsSync(join(dir, picture!))).toBe(true);
    expect(messageOf(fragile[1]!)).toContain('Seed 0 (backend wasm)');
    // The TypeScript test runs the same assertion with the same seed: the same message but for its picture.
    const withoutPicture = (m: string): string => messageOf(m).replace(/^Picture: .*$/m, '');
    expect(withoutPicture(fragile[2]!)).toBe(withoutPicture(fragile[0]!));
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

describe('TypeScript tests through ts-jest', () => {
  test('the bad argument is a type error the test expects, and a runtime error', () => {
    const json = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { testResults: { name: string; status: string; assertionResults: { title: string; status: string; failureMessages: string[] }[] }[] };
    const typed = json.testResults.find((f) => f.name.endsWith('typed.test.ts'))!;
    expect(typed.assertionResults.map((t) => [t.title, t.status])).toEqual([
      ['a fragile model fails with the message', 'failed'],
      ['.not passes on the fragile model', 'passed'],
      ['a bad argument is refused', 'failed'],
    ]);
    expect(messageOf(typed.assertionResults[2]!.failureMessages[0]!)).toContain('RobustestError: toBeRobustAgainst(attack, ε, { on, atLeast }): the first argument must be an attack.');
  });

  test('without robustest/jest in the tsconfig types, ts-jest refuses to run the file', async () => {
    const untyped = makeProject('jest-app', pkg);
    projects.push(untyped);
    const tsconfig = join(untyped, 'tsconfig.json');
    writeFileSync(tsconfig, readFileSync(tsconfig, 'utf8').replace('"types": ["jest", "robustest/jest"]', '"types": ["jest"]'));
    const result = await jest(untyped, ['--selectProjects', 'typescript']);
    expect(result.status).toBe(1);
    const json = JSON.parse(readFileSync(join(untyped, 'results.json'), 'utf8')) as { testResults: { message: string }[] };
    expect(stripAnsi(json.testResults[0]!.message)).toMatch(/error TS2339: Property 'toBeRobustAgainst' does not exist on type/);
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
