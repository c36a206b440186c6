import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { boundary, classifier, evaluate, hopSkipJump, type Attack } from '../../src/index.js';
import { correctDigits, expectSameRun, linearModel, noLeak, recheck, seededMatrix, twin } from './helpers.js';

/**
 * A 3-class linear model on 16 features. The smallest adversarial perturbation is known in
 * closed form: the nearest of the hyperplanes z_y = z_j, at (z_y − z_j)/‖w_y − w_j‖ in the dual
 * norm (L2 for L2, L1 for L∞). Samples are kept only where the box [0, 1] does not bind.
 */
const W = seededMatrix(3, 16, 42);
const b = [0, 0.2, -0.1];
const fn = linearModel(W, b);
const clf = classifier(fn, { outputs: 'logits', name: 'linear' });

interface Case {
  inputs: tf.Tensor2D;
  labels: number[];
  optimum: { l2: number[]; linf: number[] };
}
let cases: Case;

function optimum(x: number[], norm: 'l2' | 'linf'): { distance: number; label: number; inside: boolean } {
  const z = W.map((w, c) => w.reduce((s, v, k) => s + v * x[k]!, b[c]!));
  const y = z.indexOf(Math.max(...z));
  let best = { distance: Infinity, inside: false };
  for (let j = 0; j < 3; j++) {
    if (j === y) continue;
    const d = W[y]!.map((v, k) => v - W[j]![k]!);
    const margin = z[y]! - z[j]!;
    const dual = norm === 'l2' ? Math.hypot(...d) : d.reduce((s, v) => s + Math.abs(v), 0);
    const distance = margin / dual;
    if (distance >= best.distance) continue;
    // The minimiser: along −d (L2) or −sign(d)·distance (L∞).
    const point = x.map((v, k) => (norm === 'l2' ? v - (margin * d[k]!) / dual ** 2 : v - distance * Math.sign(d[k]!)));
    best = { distance, inside: point.every((v) => v >= 0 && v <= 1) };
  }
  return { ...best, label: y };
}

beforeAll(() => {
  const rows: number[][] = [];
  const labels: number[] = [];
  const l2: number[] = [];
  const linf: number[] = [];
  const raw = seededMatrix(200, 16, 7).map((r) => r.map((v) => 0.5 + 0.2 * v));
  for (const x of raw) {
    const a = optimum(x, 'l2');
    const c = optimum(x, 'linf');
    if (!a.inside || !c.inside || rows.length >= 6) continue;
    rows.push(x);
    labels.push(a.label);
    l2.push(a.distance);
    linf.push(c.distance);
  }
  cases = { inputs: tf.tensor2d(rows), labels, optimum: { l2, linf } };
});
afterAll(() => cases.inputs.dispose());

async function ratios(attack: Attack, norm: 'l2' | 'linf', seed = 1): Promise<number[]> {
  const run = await noLeak(() => attack.run(clf, cases, { seed }), (r) => [r.adversarials]);
  expect(await recheck(run, { predict: fn, inputs: cases.inputs, labels: cases.labels, norm })).toBe(cases.labels.length);
  expect(run.gradientEvaluations).toBe(0);
  run.adversarials.dispose();
  return run.distances.map((d, i) => d / cases.optimum[norm][i]!);
}

describe('decision-based attacks against closed-form minimal distances', () => {
  // On 16 features the bisection threshold θ = γ/(d√d) is 1/64 of the blend, which bounds
  // HopSkipJump's precision; 784-pixel images get θ ≈ 5e-5.
  it('HopSkipJump L2 lands within 4% of the optimum, never below it', async () => {
    const r = await ratios(hopSkipJump({ norm: 'l2', steps: 30, queries: 3000 }), 'l2');
    for (const v of r) {
      expect(v).toBeGreaterThanOrEqual(1 - 1e-5);
      expect(v).toBeLessThan(1.04);
    }
  });

  it('HopSkipJump L∞ lands within 10% of the optimum', async () => {
    const r = await ratios(hopSkipJump({ norm: 'linf', steps: 40, queries: 4000 }), 'linf');
    for (const v of r) {
      expect(v).toBeGreaterThanOrEqual(1 - 1e-5);
      expect(v).toBeLessThan(1.1);
    }
  });

  it('Boundary L2 lands within 1% of the optimum', async () => {
    const r = await ratios(boundary({ steps: 400, queries: 6000 }), 'l2');
    for (const v of r) {
      expect(v).toBeGreaterThanOrEqual(1 - 1e-5);
      expect(v).toBeLessThan(1.01);
    }
  });
});

describe('decision-based attacks: budgets, early stop, seeds', () => {
  it.each([
    ['HopSkipJump', () => hopSkipJump({ steps: 50, queries: 700 })],
    ['Boundary', () => boundary({ steps: 1000, queries: 700 })],
  ])('%s never exceeds its query budget and reproduces with its seed', async (_name, make) => {
    const attack = make();
    const run = await attack.run(clf, cases, { seed: 4 });
    for (const q of run.queries) expect(q).toBeLessThanOrEqual(702);
    await expectSameRun(run, await attack.run(clf, cases, { seed: 4 }));
    const other = await attack.run(clf, cases, { seed: 5 });
    expect(other.distances).not.toEqual(run.distances);
    tf.dispose([run.adversarials, other.adversarials]);
  });

  it('with ε, a sample stops as soon as it is within ε', async () => {
    const epsilon = Math.max(...cases.optimum.l2) * 1.5;
    const free = await hopSkipJump({ steps: 30, queries: 3000 }).run(clf, cases, { seed: 2 });
    const bounded = await hopSkipJump({ steps: 30, queries: 3000 }).run(clf, cases, { seed: 2, epsilon });
    await recheck(bounded, { predict: fn, inputs: cases.inputs, labels: cases.labels, norm: 'l2', epsilon });
    expect(bounded.success.every(Boolean)).toBe(true);
    const spent = (r: typeof free) => r.queries.reduce((s, q) => s + q, 0);
    expect(spent(bounded)).toBeLessThan(spent(free) / 2);
    tf.dispose([free.adversarials, bounded.adversarials]);
  });

  it('as a minimization attack, breaks each sample at every listed ε above its distance in evaluate()', async () => {
    const attack = hopSkipJump({ steps: 20, queries: 2000 });
    const run = await attack.run(clf, cases, { seed: 6 });
    const epsilons = [0.5, 1, 1.5].map((f) => f * Math.min(...run.distances));
    epsilons.push(Math.max(...run.distances) + 1e-3);
    epsilons.sort((a, b) => a - b);
    const report = await noLeak(() => evaluate(clf, cases, { attack, epsilons, seed: 6 }));
    report.robustAccuracy.forEach((ra, k) => expect(ra).toBeCloseTo(run.distances.filter((d) => d > epsilons[k]! + 1e-6).length / run.distances.length, 10));
    expect(report.robustAccuracy[0]).toBe(1);
    expect(report.robustAccuracy.at(-1)).toBe(0);
    run.adversarials.dispose();
  });

  it('reports failure honestly when no starting point exists', async () => {
    const constant = (x: tf.Tensor) => tf.tidy(() => tf.tile(tf.tensor2d([[2, 0, 0]]), [x.shape[0], 1]));
    const inputs = tf.fill([2, 16], 0.5);
    for (const attack of [hopSkipJump({ queries: 150 }), boundary({ queries: 150 })]) {
      const run = await noLeak(() => attack.run(classifier(constant, { outputs: 'logits' }), { inputs, labels: [0, 0] }, { seed: 1 }), (r) => [r.adversarials]);
      expect(run.success).toEqual([false, false]);
      expect(run.distances).toEqual([Infinity, Infinity]);
      await recheck(run, { predict: constant, inputs, labels: [0, 0], norm: 'l2' });
      for (const q of run.queries) expect(q).toBeLessThanOrEqual(152);
      run.adversarials.dispose();
    }
    inputs.dispose();
  });

  it('HopSkipJump reaches a target, starting from a sample of that class', async () => {
    const targets = cases.labels.map((y) => (y + 1) % 3);
    const run = await hopSkipJump({ steps: 20, queries: 2000, target: targets }).run(clf, cases, { seed: 3 });
    expect(await recheck(run, { predict: fn, inputs: cases.inputs, labels: cases.labels, norm: 'l2', targets })).toBeGreaterThanOrEqual(4);
    run.adversarials.dispose();
  });

  it('refuses bad options', () => {
    expect(() => hopSkipJump({ norm: 'l1' as 'l2' })).toThrow(/norm/);
    expect(() => hopSkipJump({ initialGradientQueries: 100, maxGradientQueries: 10 })).toThrow(/maxGradientQueries/);
    expect(() => boundary({ sourceStep: 1 })).toThrow(/sourceStep/);
    expect(() => boundary({ candidates: 0 })).toThrow(/candidates/);
  });
});

describe('decision-based attacks on the MNIST fixture CNN', () => {
  let digits: { inputs: tf.Tensor4D; labels: number[] };
  beforeAll(() => (digits = correctDigits(twin(), 4)));
  afterAll(() => digits.inputs.dispose());

  it.each([
    ['HopSkipJump L2', hopSkipJump({ norm: 'l2', steps: 15, queries: 1500 }), 'l2'],
    ['HopSkipJump L∞', hopSkipJump({ norm: 'linf', steps: 15, queries: 1500 }), 'linf'],
    ['Boundary', boundary({ steps: 200, queries: 1500 }), 'l2'],
  ] as const)('%s: every adversarial re-checked, no leak', async (_name, attack, norm) => {
    const predict = (x: tf.Tensor) => twin().predict(x) as tf.Tensor;
    const run = await noLeak(() => attack.run(classifier(twin(), { outputs: 'logits' }), digits, { seed: 1 }), (r) => [r.adversarials]);
    expect(await recheck(run, { predict, inputs: digits.inputs, labels: digits.labels, norm })).toBe(4);
    for (const q of run.queries) expect(q).toBeLessThanOrEqual(1502);
    run.adversarials.dispose();
  });
});
