import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { evaluate, fgsm, RobustestError, type RobustnessReport } from '../src/index.js';
import { robustnessSerializer, stableReport, toMatchRobustnessSnapshot, type MatcherContext, type MatcherResult } from '../matchers/index.js';
import { compareCurves, curveOf } from '../src/report/curve.js';
import { stripes, stripeSamples } from './fixtures/projects/stripes-model.js';

const utils = {
  matcherHint: (name: string, received = 'received', expected = '', o: { isNot?: boolean } = {}) => `expect(${received})${o.isNot ? '.not' : ''}.${name}(${expected})`,
  printReceived: (v: unknown) => String(v),
  printExpected: (v: unknown) => String(v),
};

let dir: string;
let report: RobustnessReport;
const testPath = (): string => join(dir, 'curve.test.ts');
const snapshotFile = (): string => join(dir, '__snapshots__', 'curve.test.ts.robustness.json');

/** One simulated test run: a fresh task, so that snapshot keys restart at 1. */
function run(mode: 'all' | 'new' | 'none', isNot = false, name = 'keeps its curve'): MatcherContext {
  return { isNot, promise: '', utils, testPath: testPath(), currentTestName: name, snapshotState: { _updateSnapshot: mode }, task: {} };
}

async function check(ctx: MatcherContext, received: unknown, options?: unknown): Promise<MatcherResult> {
  return toMatchRobustnessSnapshot.call(ctx, received, options);
}

const withCurve = (robustAccuracy: number[]): RobustnessReport => ({ ...report, robustAccuracy });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'robustest-snapshots-'));
  report = await evaluate(stripes, stripeSamples(), { attack: fgsm(), epsilons: [0.1, 0.2], seed: 3 });
  expect(report.robustAccuracy).toEqual([0.4, 0.2]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('toMatchRobustnessSnapshot', () => {
  test('never writes a new curve in CI mode', async () => {
    const result = await check(run('none'), report);
    expect(result.pass).toBe(false);
    expect(result.message()).toContain('No robustness curve is stored for "keeps its curve 1", and new snapshots are not written in CI mode (--ci, or CI=true).');
    expect(existsSync(snapshotFile())).toBe(false);
  });

  test('the first run stores the rounded curve, keyed by test name and position', async () => {
    const result = await check(run('new'), report);
    expect(result.pass).toBe(true);
    expect(result.meta?.robustest?.hint).toContain('written');
    expect(JSON.parse(readFileSync(snapshotFile(), 'utf8'))).toEqual({
      robustest: 1,
      curves: {
        'keeps its curve 1': {
          model: 'stripes',
          attacks: ['FGSM (L∞, 1 step)'],
          norm: 'linf',
          count: 10,
          cleanAccuracy: 0.8,
          epsilons: [0.1, 0.2],
          robustAccuracy: [0.4, 0.2],
        },
      },
    });
  });

  test('the same curve passes, in CI mode too, without a hint', async () => {
    for (const mode of ['new', 'none'] as const) {
      const result = await check(run(mode), report);
      expect(result.pass).toBe(true);
      expect(result.meta?.robustest?.hint).toBeNull();
    }
  });

  test('a drop beyond the tolerance fails and says where', async () => {
    const result = await check(run('none'), withCurve([0.1, 0.2]), { tolerance: 0.05 });
    expect(result.pass).toBe(false);
    expect(result.message()).toMatchInlineSnapshot(`
      "expect(report).toMatchRobustnessSnapshot({ tolerance })

      Robust accuracy fell more than the tolerance (0.05) below Snapshot "keeps its curve 1" in ${snapshotFile()}:
        ε 0.1: stored 0.4, received 0.1 (-0.300)

      Stored curve:
        Model            stripes
        Attack           FGSM (L∞, 1 step)
        Clean accuracy   0.800 (10 samples)
        Robust accuracy  ε 0.1: 0.400, ε 0.2: 0.200

      Received curve:
        Model            stripes
        Attack           FGSM (L∞, 1 step)
        Clean accuracy   0.800 (10 samples)
        Robust accuracy  ε 0.1: 0.100, ε 0.2: 0.200

      If the drop is intended: To store the received curve, run the tests with -u (Jest: --updateSnapshot, Vitest: --update)."
    `);
    // The reporter's row names the ε that regressed, with its accuracy.
    expect(result.meta?.robustest?.record).toMatchObject({ epsilons: [0.1], robustAccuracy: 0.1, passed: false });
  });

  test('drops up to the tolerance pass; the default tolerance is 0', async () => {
    expect((await check(run('new'), withCurve([0.3, 0.2]), { tolerance: 0.1 })).pass).toBe(true);
    expect((await check(run('new'), withCurve([0.3, 0.15]), { tolerance: 0.1 })).pass).toBe(true);
    expect((await check(run('new'), withCurve([0.399, 0.2]))).pass).toBe(false);
    expect((await check(run('new'), withCurve([0.3, 0.2]), { tolerance: 0.099 })).pass).toBe(false);
  });

  test('an improvement passes with a hint to update, and the stored curve is kept', async () => {
    const result = await check(run('new'), withCurve([0.6, 0.2]));
    expect(result.pass).toBe(true);
    expect(result.meta?.robustest?.hint).toBe(
      `robustest: robust accuracy improved over Snapshot "keeps its curve 1" in ${snapshotFile()} at ε 0.1 (0.4 → 0.6). To store the received curve, run the tests with -u (Jest: --updateSnapshot, Vitest: --update).`,
    );
    expect(JSON.parse(readFileSync(snapshotFile(), 'utf8')).curves['keeps its curve 1'].robustAccuracy).toEqual([0.4, 0.2]);
  });

  test('.not passes on a regression and fails, with its own message, otherwise', async () => {
    expect((await check(run('none', true), withCurve([0.1, 0.2]))).pass).toBe(false);
    const held = await check(run('none', true), report);
    expect(held.pass).toBe(true);
    expect(held.message()).toContain('Expected robust accuracy to fall more than 0 below the stored curve at some ε, and it did not.');
    await expect(check(run('new', true, 'never stored'), report)).rejects.toThrow('.not.toMatchRobustnessSnapshot() needs a stored curve to compare with');
    expect(existsSync(snapshotFile()) && JSON.parse(readFileSync(snapshotFile(), 'utf8')).curves['never stored 1']).toBeFalsy();
  });

  test('several snapshots in one test get their own keys', async () => {
    const ctx = run('new', false, 'two curves');
    await check(ctx, report);
    await check(ctx, withCurve([0.3, 0.1]));
    const curves = JSON.parse(readFileSync(snapshotFile(), 'utf8')).curves;
    expect(curves['two curves 1'].robustAccuracy).toEqual([0.4, 0.2]);
    expect(curves['two curves 2'].robustAccuracy).toEqual([0.3, 0.1]);
    expect(Object.keys(curves)).toEqual(['keeps its curve 1', 'two curves 1', 'two curves 2']);
  });

  test('-u overwrites a stored curve, regressions included', async () => {
    const result = await check(run('all', false, 'two curves'), withCurve([0.2, 0.1]));
    expect(result.pass).toBe(true);
    expect(JSON.parse(readFileSync(snapshotFile(), 'utf8')).curves['two curves 1'].robustAccuracy).toEqual([0.2, 0.1]);
  });

  test('curves from another attack or other ε cannot be compared, and say how to update', async () => {
    const otherAttack = { ...report, attacks: ['FGM (L2, 1 step)'], norm: 'l2' as const };
    await expect(check(run('new'), otherAttack)).rejects.toThrow(/was measured with FGSM \(L∞, 1 step\) \(linf\); this report with FGM \(L2, 1 step\) \(l2\)[\s\S]*run the tests with -u/);
    const fewer = { ...report, epsilons: [0.1], robustAccuracy: [0.4] };
    await expect(check(run('new'), fewer)).rejects.toThrow('measures ε 0.2, which this report does not');
    const more = { ...report, epsilons: [0.1, 0.2, 0.3], robustAccuracy: [0.4, 0.2, 0.1] };
    expect((await check(run('new'), more)).pass).toBe(true);
  });

  test('refuses bad options and things that are not reports', async () => {
    await expect(check(run('new'), report, { tolerance: -0.1 })).rejects.toThrow(RobustestError);
    await expect(check(run('new'), report, { tolerance: 2 })).rejects.toThrow('tolerance is an accuracy drop, a number in [0, 1]');
    await expect(check(run('new'), report, { tolerence: 0.1 })).rejects.toThrow('unknown option `tolerence`');
    await expect(check(run('new'), { epsilons: [0.1] })).rejects.toThrow('toMatchRobustnessSnapshot({ tolerance }) checks a RobustnessReport');
  });
});

describe('curves', () => {
  test('compareCurves splits points into regressions, improvements, missing and added ε', () => {
    const stored = curveOf(withCurve([0.4, 0.2]));
    const current = { ...curveOf(report), epsilons: [0.1, 0.3], robustAccuracy: [0.7, 0.1] };
    expect(compareCurves(stored, current, 0)).toEqual({
      regressions: [],
      improvements: [{ epsilon: 0.1, stored: 0.4, current: 0.7 }],
      missing: [0.2],
      added: [0.3],
      attackChanged: false,
    });
    expect(compareCurves(stored, curveOf(withCurve([0.4, 0.1234])), 0.05).regressions).toEqual([{ epsilon: 0.2, stored: 0.2, current: 0.123 }]);
  });
});

describe('robustnessSerializer', () => {
  test('prints a report rounded to 3 decimals, without time, backend, effort or adversarial inputs', async () => {
    const small = await evaluate(stripes, { inputs: stripeSamples().inputs.slice(0, 3), labels: [0, 0, 0] }, { attack: fgsm(), epsilons: [0.1, 0.2] });
    expect(robustnessSerializer.test(small)).toBe(true);
    expect(robustnessSerializer.test(stableReport(small))).toBe(false);
    expect.addSnapshotSerializer(robustnessSerializer);
    expect(small).toMatchInlineSnapshot(`
      RobustnessReport {
        "attacks": [
          "FGSM (L∞, 1 step)",
        ],
        "bounds": [
          0,
          1,
        ],
        "cleanAccuracy": 1,
        "count": 3,
        "epsilons": [
          0.1,
          0.2,
        ],
        "inputShape": [
          8,
          8,
          1,
        ],
        "model": "stripes",
        "norm": "linf",
        "robustAccuracy": [
          0.667,
          0.333,
        ],
        "samples": [
          {
            "adversarialClass": 1,
            "adversarialConfidence": 0.881,
            "breakingEpsilon": 0.1,
            "brokenBy": "FGSM",
            "correct": true,
            "distance": 0.1,
            "index": 0,
            "label": 0,
            "prediction": 0,
          },
          {
            "adversarialClass": 1,
            "adversarialConfidence": 0.881,
            "breakingEpsilon": 0.2,
            "brokenBy": "FGSM",
            "correct": true,
            "distance": 0.2,
            "index": 1,
            "label": 0,
            "prediction": 0,
          },
          {
            "adversarialClass": null,
            "adversarialConfidence": null,
            "breakingEpsilon": null,
            "brokenBy": null,
            "correct": true,
            "distance": null,
            "index": 2,
            "label": 0,
            "prediction": 0,
          },
        ],
        "seed": 0,
      }
    `);
  });
});
