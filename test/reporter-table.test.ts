/**
 * The closing table of robustest/reporter, checked against what actually happened: every matcher,
 * passing and failing, with and without `.not`, through Vitest's real `expect` (which leaves
 * `isNot` undefined without `.not`). A record says "passed" exactly when the assertion did not
 * throw, and the table counts and fits 100 columns.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { ensureBackend, evaluate, fgsm, perturbations, transforms } from '../src/index.js';
import { robustestMatchers } from '../matchers/index.js';
import { registerMatchers } from '../matchers/register.js';
import { formatEpsilon, formatEpsilons } from '../src/report/epsilon.js';
import { cut, formatRobustnessTable, TABLE_WIDTH, type AssertionRecord } from '../src/report/table.js';
import { configureRobustest } from '../matchers/config.js';
import { stripes, stripeSamples } from './fixtures/projects/stripes-model.js';

const records: AssertionRecord[] = [];
registerMatchers(expect, robustestMatchers, { onResult: (_ctx, result) => void (result.meta?.robustest && records.push(result.meta.robustest.record)) });

type Assertion = (e: (received: unknown) => Record<string, (...args: unknown[]) => unknown>) => unknown;

describe('formatEpsilon', () => {
  test('short decimals stay as written, whole 8-bit steps print as k/255, the rest to 4 significant digits', () => {
    expect(formatEpsilon(0.1)).toBe('0.1');
    expect(formatEpsilon(0.2)).toBe('0.2');
    expect(formatEpsilon(1 / 255)).toBe('1/255');
    expect(formatEpsilon(0.00392156862745098)).toBe('1/255');
    expect(formatEpsilon(8 / 255)).toBe('8/255');
    expect(formatEpsilon(16 / 255)).toBe('16/255');
    expect(formatEpsilon(0.123456789)).toBe('0.1235');
    expect(formatEpsilon(Math.PI / 1000)).toBe('0.003142');
    expect(formatEpsilon(0)).toBe('0');
    expect(formatEpsilon(null)).toBe('—');
    expect(formatEpsilon(Infinity)).toBe('Infinity');
    expect(formatEpsilon(1e-7)).toBe('1e-7');
  });

  test('steps are 1/255 of the bounds’ width', () => {
    // On [-1, 1] a step is 2/255: 8 steps are 16/255.
    expect(formatEpsilon((2 * 8) / 255, [-1, 1])).toBe('16/255');
    // On [0, 255] pixel values are whole numbers.
    expect(formatEpsilon(8, [0, 255])).toBe('8');
    // On [0, 0.5] a step is not a fraction of 255 with a whole numerator.
    expect(formatEpsilon((3 * 0.5) / 255, [0, 0.5])).toBe('3/255 × 0.5');
    expect(formatEpsilons([0.1, 8 / 255])).toBe('[0.1, 8/255]');
  });
});

describe('the table of a run, for every matcher with and without .not', () => {
  beforeAll(async () => {
    await ensureBackend();
    configureRobustest({ pictures: false });
  });

  test('each record says passed exactly when the assertion held, and the table counts them', async () => {
    const on = stripeSamples();
    const report = await evaluate(stripes, on, { attack: fgsm(), epsilons: [0.02, 0.2] });
    // Analytic verdicts (stripes-model.ts): 8 of 10 stripes are classified correctly; FGSM breaks
    // none of them at ε 0.02 and all but the two of contrast 0.5 at ε 0.2.
    const cases: [string, Assertion, boolean][] = [
      ['toBeRobustAgainst holds', (e) => e(stripes).toBeRobustAgainst(fgsm(), 0.01, { on, atLeast: 0.8 }), true],
      ['toBeRobustAgainst breaks', (e) => e(stripes).toBeRobustAgainst(fgsm(), 0.2, { on, atLeast: 0.8 }), false],
      ['toHaveRobustAccuracy holds', (e) => e(report).toHaveRobustAccuracy({ atLeast: 0.8, at: 0.02 }), true],
      ['toHaveRobustAccuracy breaks', (e) => e(report).toHaveRobustAccuracy({ atLeast: 0.8, at: 0.2 }), false],
      ['toBeRobust breaks (it asks for 1)', (e) => e(report).toBeRobust({ at: 0.02 }), false],
      ['toBeRobustUnder holds', (e) => e(stripes).toBeRobustUnder(perturbations.brightness(0.02), { on, numRuns: 5, seed: 1 }), true],
      ['toBeRobustUnder breaks', (e) => e(stripes).toBeRobustUnder(perturbations.gaussianNoise(0.9), { on, numRuns: 10, seed: 1 }), false],
      ['toBeInvariantUnder holds', (e) => e(stripes).toBeInvariantUnder(transforms.brightness(0.01), { on }), true],
      ['toBeInvariantUnder breaks', (e) => e(stripes).toBeInvariantUnder(transforms.translate(4, 0), { on }), false],
    ];
    const outcomes: { name: string; held: boolean }[] = [];
    for (const [name, assertion, pass] of cases) {
      for (const not of [false, true]) {
        const before = records.length;
        let held = true;
        try {
          await assertion((received) => (not ? expect(received).not : expect(received)) as never);
        } catch {
          held = false;
        }
        const label = `${not ? '.not.' : ''}${name}`;
        expect(held, label).toBe(pass !== not);
        expect(records.length, label).toBe(before + 1);
        expect(records[before]!.passed, label).toBe(held);
        outcomes.push({ name: label, held });
      }
    }
    const run = records.slice(-outcomes.length);
    const table = formatRobustnessTable(run);
    const failed = outcomes.filter((o) => !o.held).length;
    expect(failed).toBeGreaterThan(0);
    expect(table).toContain(`${outcomes.length} robustness assertions: ${outcomes.length - failed} held, ${failed} failed`);
    const verdicts = table.split('\n').filter((l) => /^(pass|FAIL) /.test(l)).map((l) => l.startsWith('pass'));
    expect(verdicts).toEqual(outcomes.map((o) => o.held));
    for (const line of table.split('\n')) expect([...line].length, line).toBeLessThanOrEqual(TABLE_WIDTH);
    // Fuzzing and invariance rows say what their number is.
    const kept = table.split('\n').filter((l) => l.includes('kept class'));
    expect(kept).toHaveLength(8);
  });
});

const record = (over: Partial<AssertionRecord>): AssertionRecord => ({
  matcher: 'toBeRobustAgainst',
  test: 'examples/mnist/cnn.robust.test.ts › the CNN keeps 80% of digits under PGD at ε 0.05',
  file: null,
  model: 'mnist_cnn',
  attack: 'PGD (L∞, 40 steps of 0.0333·ε, random start)',
  epsilon: 8 / 255,
  cleanAccuracy: 0.98,
  robustAccuracy: 0.91,
  required: '≥ 0.900',
  passed: true,
  seed: 0,
  picture: null,
  ...over,
});

describe('the table layout', () => {
  test('a row of numbers and the test name, the attack and model under it, within 100 columns', () => {
    const long = 'x'.repeat(200);
    const table = formatRobustnessTable([
      record({}),
      record({ test: long, attack: long, passed: false, seed: 7, epsilon: null }),
      record({ matcher: 'toMatchRobustnessSnapshot', epsilon: null, epsilons: [0.1, 0.2], required: 'within 0.02 of snapshot', robustAccuracy: 0.4 }),
      record({ matcher: 'toBeInvariantUnder', epsilon: null, attack: 'translation dx=1 dy=0', required: '≥ 0.970', robustAccuracy: 0.99 }),
    ]);
    const lines = table.split('\n');
    for (const line of lines) expect([...line].length).toBeLessThanOrEqual(TABLE_WIDTH);
    expect(lines.slice(2, 7)).toEqual([
      'Verdict         ε  Clean  Measured            Required                 Test',
      '───────  ────────  ─────  ──────────────────  ───────────────────────  ─────────────────────────────',
      'examples/mnist/cnn.robust.test.ts',
      'pass        8/255  0.980  0.910 robust        ≥ 0.900                  the CNN keeps 80% of digits …',
      '         PGD (L∞, 40 steps of 0.0333·ε, random start) · mnist_cnn',
    ]);
    expect(lines[7]).toMatch(/^FAIL {12}— {2}0\.980 {2}0\.910 robust/);
    expect(lines[7]!.endsWith('…')).toBe(true);
    expect(lines[8]).toMatch(/^ {9}seed 7 · x+…$/);
    // A file is named again when its rows resume after another file's.
    expect(lines[9]).toBe('examples/mnist/cnn.robust.test.ts');
    expect(lines[10]).toMatch(/^pass {5}0\.1, 0\.2 {2}0\.980 {2}0\.400 worst robust/);
    expect(lines[12]).toContain('0.990 kept class');
    expect(lines.at(-1)).toBe('4 robustness assertions: 3 held, 1 failed');
    expect(formatRobustnessTable([])).toBe('robustest: no robustness assertions ran.');
  });

  test('cut keeps short text and ends long text with …', () => {
    expect(cut('abc', 3)).toBe('abc');
    expect(cut('abcd', 3)).toBe('ab…');
  });
});
