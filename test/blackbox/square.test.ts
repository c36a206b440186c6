import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifier, evaluate, square, RobustestError, type Classifier } from '../../src/index.js';
import { pseudoGaussian, splitBump, squareFraction } from '../../src/attacks/square.js';
import { Rng } from '../../src/engine/random.js';
import { correctDigits, expectSameRun, noLeak, recheck, twin } from './helpers.js';

let digits: { inputs: tf.Tensor4D; labels: number[] };
let clf: Classifier;
const predict = (x: tf.Tensor) => twin().predict(x) as tf.Tensor;

beforeAll(() => {
  digits = correctDigits(twin(), 12);
  clf = classifier(twin(), { outputs: 'logits' });
});
afterAll(() => digits.inputs.dispose());

describe('square: the paper’s building blocks', () => {
  it('follows the p schedule of the reference implementation (scaled to the budget)', () => {
    const total = 10000;
    expect(squareFraction(0.8, 5, total)).toBe(0.8);
    expect(squareFraction(0.8, 10, total)).toBe(0.8);
    expect(squareFraction(0.8, 11, total)).toBe(0.4);
    expect(squareFraction(0.8, 50, total)).toBe(0.4);
    expect(squareFraction(0.8, 200, total)).toBe(0.2);
    expect(squareFraction(0.8, 500, total)).toBe(0.1);
    expect(squareFraction(0.8, 1000, total)).toBe(0.05);
    expect(squareFraction(0.8, 2000, total)).toBe(0.025);
    expect(squareFraction(0.8, 4000, total)).toBe(0.0125);
    expect(squareFraction(0.8, 6000, total)).toBe(0.00625);
    expect(squareFraction(0.8, 8000, total)).toBe(0.003125);
    expect(squareFraction(0.8, 9999, total)).toBe(0.8 / 512);
    // With a 1000-query budget the same fractions of the budget apply.
    expect(squareFraction(0.8, 20, 1000)).toBe(0.2);
  });

  it('builds the pseudo-Gaussian window: unit norm, peaked and symmetric', () => {
    const g = pseudoGaussian(5, 5);
    expect(Math.hypot(...g)).toBeCloseTo(1, 12);
    // Nested rectangles weighted 1/(k+1)²: centre 1 + 1/4 + 1/9, ring 1/4 + 1/9, border 1/9.
    const centre = 1 + 1 / 4 + 1 / 9;
    expect(g[12]! / g[0]!).toBeCloseTo(centre / (1 / 9), 10);
    expect(g[6]! / g[0]!).toBeCloseTo((1 / 4 + 1 / 9) / (1 / 9), 10);
    for (let a = 0; a < 5; a++) for (let b = 0; b < 5; b++) expect(g[a * 5 + b]).toBeCloseTo(g[(4 - a) * 5 + (4 - b)]!, 12);
    const bump = splitBump(6, 6, new Rng(3));
    expect(Math.hypot(...bump)).toBeCloseTo(1, 12);
    expect(bump.reduce((s, v) => s + v, 0)).toBeCloseTo(0, 12);
    const line = splitBump(1, 7, new Rng(3));
    expect(line.slice(0, 3).every((v) => v > 0) || line.slice(0, 3).every((v) => v < 0)).toBe(true);
    expect(Math.sign(line[0]!)).toBe(-Math.sign(line[6]!));
  });
});

describe('square on the MNIST fixture CNN', () => {
  it.each([
    ['linf', 0.15],
    ['l2', 2],
  ] as const)('%s: every adversarial re-checked, budget honoured, seeds reproduce, no leak', async (norm, epsilon) => {
    const attack = square({ norm, queries: 300 });
    const run = await noLeak(() => attack.run(clf, digits, { epsilon, seed: 5 }), (r) => [r.adversarials]);
    const broken = await recheck(run, { predict, inputs: digits.inputs, labels: digits.labels, norm, epsilon });
    expect(broken).toBeGreaterThanOrEqual(6);
    expect(run.gradientEvaluations).toBe(0);
    // The attack's own queries plus the clean prediction and the final re-check.
    for (const [i, q] of run.queries.entries()) {
      expect(q).toBeLessThanOrEqual(302);
      if (!run.success[i]) expect(q).toBe(302);
    }
    // Broken samples stop early.
    expect(run.queries.filter((q, i) => run.success[i] && q < 302).length).toBeGreaterThan(0);

    const again = await attack.run(clf, digits, { epsilon, seed: 5 });
    await expectSameRun(run, again);
    const other = await attack.run(clf, digits, { epsilon, seed: 6 });
    expect(Array.from(await other.adversarials.data())).not.toEqual(Array.from(await run.adversarials.data()));
    tf.dispose([run.adversarials, again.adversarials, other.adversarials]);
  });

  it('reaches a target', async () => {
    const targets = digits.labels.map((y) => (y + 1) % 10);
    const run = await square({ norm: 'linf', queries: 400, target: targets }).run(clf, digits, { epsilon: 0.3, seed: 1 });
    const hits = await recheck(run, { predict, inputs: digits.inputs, labels: digits.labels, norm: 'linf', epsilon: 0.3, targets });
    expect(hits).toBeGreaterThanOrEqual(4);
    expect(run.targets).toEqual(targets);
    run.adversarials.dispose();
  });

  it('runs on a function that tfjs cannot differentiate (it leaves the graph through dataSync)', async () => {
    const opaque = (x: tf.Tensor) => {
      const z = tf.tidy(() => twin().predict(x) as tf.Tensor);
      const values = z.dataSync();
      const out = tf.tensor2d(values, z.shape as [number, number]);
      z.dispose();
      return out;
    };
    const run = await square({ queries: 200 }).run(classifier(opaque, { outputs: 'logits' }), digits, { epsilon: 0.15, seed: 2 });
    const reference = await square({ queries: 200 }).run(clf, digits, { epsilon: 0.15, seed: 2 });
    await expectSameRun(reference, run);
    tf.dispose([run.adversarials, reference.adversarials]);
  });

  it('with ε = 0 finds nothing and spends one query per sample', async () => {
    const run = await square({ queries: 50 }).run(clf, digits, { epsilon: 0, seed: 1 });
    expect(run.success.every((s) => !s)).toBe(true);
    expect(run.queries.every((q) => q === 2)).toBe(true);
    run.adversarials.dispose();
  });

  it('refuses bad options, saying what was expected', () => {
    const bad = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(RobustestError);
        return e as RobustestError;
      }
      throw new Error('no error');
    };
    expect(bad(() => square({ norm: 'l1' as 'l2' })).expected).toContain("'linf'");
    expect(bad(() => square({ queries: 0 })).received).toBe('0');
    expect(bad(() => square({ p_init: 1.5 })).code).toBe('INVALID_OPTION');
    expect(bad(() => square({ pInit: 0.5 } as never)).message).toContain('pInit');
  });

  it('drives a robustness curve through evaluate()', async () => {
    const report = await noLeak(() => evaluate(clf, digits, { attack: square({ queries: 150 }), epsilons: [0.02, 0.1, 0.2], seed: 3 }));
    expect(report.cleanAccuracy).toBe(1);
    const [a, b, c] = report.robustAccuracy as [number, number, number];
    expect(a).toBeGreaterThanOrEqual(b);
    expect(b).toBeGreaterThanOrEqual(c);
    expect(c).toBeLessThan(1);
    expect(report.queries).toBeGreaterThan(0);
    expect(report.gradientEvaluations).toBe(0);
  });

  it('needs ε: it is a fixed-budget attack', async () => {
    await expect(square().run(clf, digits)).rejects.toMatchObject({ code: 'INVALID_EPSILON' });
  });
});
