/**
 * A real Vitest process runs test/fixtures/projects/vitest-app against the packed package
 * (`import 'robustest/vitest'` in setupFiles, `robustest/reporter` next to the JSON reporter) and
 * its JSON results are checked: verdicts, messages, pictures, snapshots and the end-of-run table.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { childEnv, makeProject, packedPackage, readResults, run, type RunResult } from './fixtures/projects/harness.js';

const projects: string[] = [];
let pkg: string;
let dir: string;
let first: RunResult;
let results: ReturnType<typeof readResults>;

function vitest(cwd: string, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return run([join(cwd, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...args], cwd, childEnv(env));
}

/** The assertion message of a failure, without the stack trace the runner appends. */
const messageOf = (failure: string): string => failure.split(/\n\s+at /)[0]!;

const snapshotFile = (cwd: string): string => join(cwd, '__snapshots__', 'robust.test.ts.robustness.json');
const CURVE_KEY = 'stripes > the robustness curve matches its snapshot 1';

beforeAll(async () => {
  pkg = await packedPackage();
  dir = makeProject('vitest-app', pkg);
  projects.push(dir);
  first = await vitest(dir, []);
  results = readResults(join(dir, 'results.json'));
});
afterAll(() => {
  for (const p of projects) rmSync(p, { recursive: true, force: true });
});

describe('a real Vitest run of the packed package', () => {
  test('runs every fixture test and fails exactly the three that must fail', () => {
    expect(first.status).toBe(1);
    expect([...results].map(([name, r]) => [name, r.status])).toEqual([
      ['a fragile model fails with the message', 'failed'],
      ['.not passes on the fragile model', 'passed'],
      ['ε = 0 reduces to clean accuracy', 'passed'],
      ['a bad argument is refused', 'failed'],
      ['the robustness curve matches its snapshot', 'passed'],
      ['a report snapshot with the serializer', 'passed'],
      ['an un-awaited assertion fails its test', 'failed'],
    ]);
  });

  test('a fragile model fails with the full message', () => {
    expect(messageOf(results.get('a fragile model fails with the message')!.failureMessages[0]!)).toMatchInlineSnapshot(`
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

      Picture: __robustness__/robust.test.ts/stripes-a-fragile-model-fails-with-the-message--fgsm-0.1-7e10f001.png"
    `);
  });

  test('the picture named in the message is a PNG of four counterexample rows', () => {
    const png = PNG.sync.read(readFileSync(join(dir, '__robustness__', 'robust.test.ts', 'stripes-a-fragile-model-fails-with-the-message--fgsm-0.1-7e10f001.png')));
    // 8×8 inputs drawn at 12× → 96-pixel panels; 4 rows of caption (2 lines) + panel + gap under a heading line.
    expect(png.width).toBe(10 + 3 * 96 + 2 * 10 + 10);
    expect(png.height).toBe(10 + 11 + 5 + 4 * (2 * 11 + 2 + 96 + 10) + 10 - 10);
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

  test('failing assertions are annotated, and robustest/reporter prints the table', () => {
    expect(first.stdout + first.stderr).toContain('robustest\n   ↳ FGSM (L∞, 1 step) at ε = 0.1: robust accuracy 0.400, required ≥ 0.900');
    const table = first.stdout.slice(first.stdout.indexOf('Robustness assertions'));
    const rows = table.split('\n').filter((line) => line.startsWith('robust.test.ts › '));
    expect(rows.map((r) => r.replace(/\s{2,}/g, ' | '))).toEqual([
      'robust.test.ts › stripes > a fragile model fails with the message | stripes | FGSM (L∞, 1 step) | 0.1 | 0.800 | 0.400 | ≥ 0.900 | FAIL',
      'robust.test.ts › stripes > .not passes on the fragile model | stripes | FGSM (L∞, 1 step) | 0.1 | 0.800 | 0.400 | < 0.900 | pass',
      'robust.test.ts › stripes > ε = 0 reduces to clean accuracy | stripes | FGSM (L∞, 1 step) | 0 | 0.800 | 0.800 | ≥ 0.800 | pass',
      'robust.test.ts › stripes > ε = 0 reduces to clean accuracy | stripes | FGSM (L∞, 1 step) | 0 | 0.800 | 0.800 | ≥ 0.800 | pass',
      'robust.test.ts › stripes > ε = 0 reduces to clean accuracy | stripes | FGSM (L∞, 1 step) | 0 | 0.800 | 0.800 | < 0.810 | pass',
      'robust.test.ts › stripes > the robustness curve matches its snapshot | stripes | FGSM (L∞, 1 step) | — | 0.800 | 0.200 | within 0.05 of snapshot | pass',
    ]);
    expect(table).toContain('6 robustness assertions: 5 held, 1 failed');
  });

  test('the serializer writes a rounded report without backend or timings into the .snap file', () => {
    const snap = readFileSync(join(dir, '__snapshots__', 'robust.test.ts.snap'), 'utf8');
    expect(snap).toContain('RobustnessReport {');
    expect(snap).toContain('"adversarialConfidence": 0.881,');
    expect(snap).not.toMatch(/backend|seconds|gradientEvaluations|"adversarial":/);
  });
});

describe('toMatchRobustnessSnapshot under Vitest', () => {
  test('the first local run stores the curve', () => {
    expect(JSON.parse(readFileSync(snapshotFile(dir), 'utf8')).curves[CURVE_KEY]).toEqual({
      model: 'stripes',
      attacks: ['FGSM (L∞, 1 step)'],
      norm: 'linf',
      count: 10,
      cleanAccuracy: 0.8,
      epsilons: [0.1, 0.2],
      robustAccuracy: [0.4, 0.2],
    });
  });

  test('a CI run passes on the stored curve and fails on a regression', async () => {
    const same = await vitest(dir, ['-t', 'curve'], { CI: 'true' });
    expect(readResults(join(dir, 'results.json')).get('the robustness curve matches its snapshot')!.status).toBe('passed');
    expect(same.status).toBe(0);

    const regressed = await vitest(dir, ['-t', 'curve'], { CI: 'true', ROBUSTEST_FIXTURE_REGRESSION: '1' });
    expect(regressed.status).toBe(1);
    const failure = messageOf(readResults(join(dir, 'results.json')).get('the robustness curve matches its snapshot')!.failureMessages[0]!);
    expect(failure).toContain(`Robust accuracy fell more than the tolerance (0.05) below Snapshot "${CURVE_KEY}" in __snapshots__/robust.test.ts.robustness.json:`);
    expect(failure).toContain('ε 0.1: stored 0.4, received 0 (-0.400)');
    expect(failure).toContain('ε 0.2: stored 0.2, received 0 (-0.200)');
  });

  test('--update stores the regressed curve, which then passes', async () => {
    const updated = await vitest(dir, ['-t', 'curve', '--update'], { ROBUSTEST_FIXTURE_REGRESSION: '1' });
    expect(updated.status).toBe(0);
    expect(JSON.parse(readFileSync(snapshotFile(dir), 'utf8')).curves[CURVE_KEY].robustAccuracy).toEqual([0, 0]);
    const improved = await vitest(dir, ['-t', 'curve'], { CI: 'true' });
    expect(improved.status).toBe(0);
    expect(improved.stdout).toContain(`robustest: robust accuracy improved over Snapshot "${CURVE_KEY}"`);
  });

  test('a CI run never writes a new curve', async () => {
    const fresh = makeProject('vitest-app', pkg);
    projects.push(fresh);
    const ci = await vitest(fresh, ['-t', 'curve'], { CI: 'true' });
    expect(ci.status).toBe(1);
    expect(messageOf(readResults(join(fresh, 'results.json')).get('the robustness curve matches its snapshot')!.failureMessages[0]!)).toContain(
      `No robustness curve is stored for "${CURVE_KEY}", and new snapshots are not written in CI mode (--ci, or CI=true).`,
    );
    expect(existsSync(snapshotFile(fresh))).toBe(false);
  });
});
