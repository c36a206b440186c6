/**
 * Attacks against linear classifiers, whose minimal adversarial distances are known in closed
 * form: min over j ≠ y of (z_y − z_j) / ‖w_y − w_j‖ in the dual norm (L2 ↔ L2, L∞ ↔ L1,
 * L1 ↔ L∞). Fixed-ε attacks must break exactly the samples within ε; minimization attacks must
 * land within 1 percent of the minimum. Every claimed adversarial is re-checked independently.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { apgd, carliniWagner, classifier, deepfool, ensureBackend, fgsm, lbfgs, mifgsm, pgd, type Attack, type Norm } from '../../src/index.js';
import { gapEpsilon, linearFixture, minimalDistance, recheck, type LinearFixture } from './helpers.js';

const BOUNDS: [number, number] = [0, 1];

beforeAll(async () => {
  await ensureBackend();
});

async function runChecked(f: LinearFixture, attack: Attack, epsilon: number | undefined, norm: Exclude<Norm, 'l0'>) {
  const clf = classifier(f.model.fn, { bounds: BOUNDS });
  const before = tf.memory().numTensors;
  const run = await attack.run(clf, { inputs: f.inputs, labels: f.labels }, { epsilon, seed: 3 });
  const distances = await recheck(f.model.fn, run, { inputs: f.inputs, labels: f.labels, bounds: BOUNDS, norm, epsilon, targets: run.targets });
  run.adversarials.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return { run, distances };
}

function breakable(f: LinearFixture, norm: Exclude<Norm, 'l0'>, epsilon: number): boolean[] {
  return f.xs.map((x, i) => minimalDistance(f.model, x, f.labels[i]!, norm) <= epsilon);
}

describe('binary linear model', () => {
  const f = linearFixture(11, 2, 12, 40);
  const distances = (norm: Exclude<Norm, 'l0'>) => f.xs.map((x, i) => minimalDistance(f.model, x, f.labels[i]!, norm));

  test.each([
    ['FGSM', () => fgsm(), 'linf'],
    ['FGM L2', () => fgsm({ norm: 'l2' }), 'l2'],
    ['BIM (PGD without random start)', () => pgd({ randomStart: false, steps: 10, relativeStepSize: 0.1 }), 'linf'],
    ['PGD L∞ with its defaults (random start)', () => pgd(), 'linf'],
    ['sparse L1 descent with its defaults', () => pgd({ norm: 'l1' }), 'l1'],
    ['MI-FGSM', () => mifgsm(), 'linf'],
  ] as const)('%s breaks exactly the samples within ε, even at the edge', async (_, make, norm) => {
    // On a binary linear model these attacks reach the optimal point exactly, so ε may sit a
    // hair above a sample's distance.
    const d = distances(norm);
    const sorted = [...d].sort((a, b) => a - b);
    for (const epsilon of [sorted[9]! * (1 + 1e-4), sorted[25]! * (1 - 1e-4)]) {
      const { run } = await runChecked(f, make(), epsilon, norm);
      expect(run.success).toEqual(breakable(f, norm, epsilon));
    }
  });

  test('FGM L1 moves along the L1-normalised gradient and breaks exactly what that step reaches', async () => {
    const w = f.model.W[1]!.map((v, i) => v - f.model.W[0]![i]!);
    const l1 = w.reduce((s, v) => s + Math.abs(v), 0);
    const l2sq = w.reduce((s, v) => s + v * v, 0);
    // The step ε·w/‖w‖₁ changes the margin by ε‖w‖₂²/‖w‖₁.
    const reach = distances('l2').map((d) => (d * Math.sqrt(l2sq) * l1) / l2sq);
    const epsilon = gapEpsilon(reach);
    const { run } = await runChecked(f, fgsm({ norm: 'l1' }), epsilon, 'l1');
    expect(run.success).toEqual(reach.map((r) => r <= epsilon));
    expect(run.success.filter(Boolean).length).toBeGreaterThan(0);
  });

  test.each([
    ['DeepFool L2', () => deepfool(), 'l2'],
    ['DeepFool L∞', () => deepfool({ norm: 'linf' }), 'linf'],
    // C&W's learning rate is in tanh-space units and its default is sized for MNIST's
    // perturbations; these distances are ~20× smaller, so the step is scaled down to resolve
    // them to 1%.
    ['C&W', () => carliniWagner({ learningRate: 0.002, steps: 300, binarySearchSteps: 6, initialConst: 0.01 }), 'l2'],
    ['L-BFGS towards the other class', () => lbfgs({ binarySearchSteps: 16 }), 'l2'],
  ] as const)('%s finds every sample within 1 percent of the exact minimal distance', async (_, make, norm) => {
    const exact = distances(norm);
    const { run, distances: found } = await runChecked(f, make(), undefined, norm);
    expect(run.success.every(Boolean)).toBe(true);
    found.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(exact[i]! * (1 - 1e-4));
      expect(d).toBeLessThanOrEqual(exact[i]! * 1.01);
    });
  });

  test('DeepFool without refinement is Foolbox’s: one step past the boundary by the overshoot', async () => {
    const exact = distances('l2');
    const { distances: found } = await runChecked(f, deepfool({ refinementSteps: 0 }), undefined, 'l2');
    // Foolbox adds 1e-4 to each step's distance, then scales the step by 1 + overshoot.
    found.forEach((d, i) => expect(d).toBeCloseTo((exact[i]! + 1e-4) * 1.02, 5));
  });
});

describe('multiclass linear model', () => {
  const CLASSES = 6;
  const f = linearFixture(5, CLASSES, 10, 40);
  const distances = (norm: Exclude<Norm, 'l0'>) => f.xs.map((x, i) => minimalDistance(f.model, x, f.labels[i]!, norm));

  // The untargeted margin max_j z_j − z_y is convex in x, so ascent can stall on a class that is
  // not the nearest. Against one target t the margin z_t − max_{k≠t} z_k is concave, so PGD finds
  // its maximum over the ball: run against every other class, it decides breakability exactly.
  test.each([
    ['PGD L∞', (target: number[]) => pgd({ steps: 60, relativeStepSize: 0.1, loss: 'margin', target }), 'linf'],
    ['PGD L2', (target: number[]) => pgd({ norm: 'l2', steps: 100, relativeStepSize: 0.05, loss: 'margin', target }), 'l2'],
    ['APGD L∞', (target: number[]) => apgd({ loss: 'margin', target }), 'linf'],
    ['APGD L2', (target: number[]) => apgd({ norm: 'l2', loss: 'margin', target }), 'l2'],
  ] as const)('%s against every target class breaks exactly the samples within ε', async (_, make, norm) => {
    const epsilon = gapEpsilon(distances(norm));
    const expected = breakable(f, norm, epsilon);
    expect(expected.filter(Boolean).length).toBeGreaterThan(5);
    expect(expected.filter((b) => !b).length).toBeGreaterThan(5);
    const broken = new Array<boolean>(f.xs.length).fill(false);
    for (let shift = 1; shift < CLASSES; shift++) {
      const { run } = await runChecked(f, make(f.labels.map((y) => (y + shift) % CLASSES)), epsilon, norm);
      run.success.forEach((s, i) => (broken[i] ||= s));
    }
    expect(broken).toEqual(expected);
  });

  test.each([
    ['PGD L∞ (CE)', () => pgd({ steps: 60, relativeStepSize: 0.1 }), 'linf'],
    ['PGD L2 (margin)', () => pgd({ norm: 'l2', steps: 60, relativeStepSize: 0.1, loss: 'margin' }), 'l2'],
    ['APGD L∞ (CE)', () => apgd(), 'linf'],
    ['APGD L2 (DLR)', () => apgd({ norm: 'l2', loss: 'dlr' }), 'l2'],
    ['MI-FGSM', () => mifgsm(), 'linf'],
  ] as const)('untargeted %s breaks only breakable samples, and most of them', async (_, make, norm) => {
    const epsilon = gapEpsilon(distances(norm));
    const expected = breakable(f, norm, epsilon);
    const { run } = await runChecked(f, make(), epsilon, norm);
    run.success.forEach((s, i) => s && expect(expected[i]).toBe(true));
    expect(run.success.filter(Boolean).length).toBeGreaterThanOrEqual(0.75 * expected.filter(Boolean).length);
  });

  test('DeepFool, which linearises every candidate class, lands within 1 percent of the exact minimal L2 distance', async () => {
    const exact = distances('l2');
    const { run, distances: found } = await runChecked(f, deepfool(), undefined, 'l2');
    expect(run.success.every(Boolean)).toBe(true);
    found.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(exact[i]! * (1 - 1e-4));
      expect(d).toBeLessThanOrEqual(exact[i]! * 1.01);
    });
  });

  test('untargeted C&W, one pairwise search per other class, lands within 1 percent of the exact minimal L2 distance', async () => {
    // The adversarial region is the union over t ≠ y of the half-spaces {z_t ≥ z_y}; on a linear
    // model each pairwise search is convex, so the closest over all five other classes is the
    // exact minimum. The single margin max_j z_j − z_y (candidates: 1) is not concave and can
    // settle on a class whose boundary is not the nearest. Step size scaled as above.
    const exact = distances('l2');
    const { run, distances: found } = await runChecked(f, carliniWagner({ learningRate: 0.02 }), undefined, 'l2');
    expect(run.success.every(Boolean)).toBe(true);
    found.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(exact[i]! * (1 - 1e-4));
      expect(d).toBeLessThanOrEqual(exact[i]! * 1.01);
    });
    const { distances: single } = await runChecked(f, carliniWagner({ learningRate: 0.02, candidates: 1 }), undefined, 'l2');
    expect(single.filter((d, i) => d > exact[i]! * 1.01).length).toBeGreaterThan(0);
  });

  test('C&W against every target class: the closest adversarial per sample is within 1 percent of the exact minimum', async () => {
    // Against one target the C&W objective is convex on a linear model, so each run finds that
    // target's optimum; the best over targets is the untargeted minimum.
    const g = linearFixture(7, 4, 10, 10);
    const exact = g.xs.map((x, i) => minimalDistance(g.model, x, g.labels[i]!, 'l2'));
    const best = exact.map(() => Infinity);
    for (let shift = 1; shift < 4; shift++) {
      const target = g.labels.map((y) => (y + shift) % 4);
      const { run, distances: found } = await runChecked(g, carliniWagner({ target, learningRate: 0.002, steps: 300, binarySearchSteps: 6, initialConst: 0.01 }), undefined, 'l2');
      found.forEach((d, i) => run.success[i] && (best[i] = Math.min(best[i]!, d)));
    }
    best.forEach((d, i) => {
      expect(d).toBeGreaterThanOrEqual(exact[i]! * (1 - 1e-4));
      expect(d).toBeLessThanOrEqual(exact[i]! * 1.01);
    });
  });

  test('a minimization attack given ε counts only what it found within ε', async () => {
    const exact = distances('l2');
    const epsilon = gapEpsilon(exact);
    const { run } = await runChecked(f, deepfool(), epsilon, 'l2');
    expect(run.success).toEqual(exact.map((d) => d <= epsilon));
  });

  test('targeted PGD and C&W land on their targets', async () => {
    const targets = f.labels.map((y) => (y + 1) % CLASSES);
    for (const attack of [pgd({ norm: 'l2', target: targets, steps: 100, relativeStepSize: 0.05 }), carliniWagner({ target: targets, steps: 200, binarySearchSteps: 6 })]) {
      const { run } = await runChecked(f, attack, attack.kind === 'fixed-epsilon' ? 0.3 : undefined, 'l2');
      expect(run.targets).toEqual(targets);
      expect(run.success.filter(Boolean).length).toBeGreaterThan(30);
    }
  });
});
