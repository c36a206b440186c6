/**
 * Attacks on a small MNIST MLP trained in-process with fixed seeds: relative strength (PGD ≥
 * FGSM, restarts never weaken, C&W vs DeepFool), targets and top-k, and determinism. Every
 * claimed adversarial is re-checked by running the model.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { apgd, carliniWagner, classifier, deepfool, fgsm, lbfgs, mifgsm, pgd, type Attack, type AttackRun, type Classifier, type Norm } from '../../src/index.js';
import { recheck } from './helpers.js';
import { trainMnistMlp, type MnistFixture } from './mnist-fixture.js';

let f: MnistFixture;
let clf: Classifier;

beforeAll(async () => {
  f = await trainMnistMlp(40);
  clf = classifier(f.model);
});

interface Options {
  epsilon?: number;
  seed?: number;
  count?: number;
  norm?: Exclude<Norm, 'l0'>;
  topK?: number;
}

/** Runs an attack on the first `count` digits, re-checks it, and checks numTensors. */
async function attackDigits(attack: Attack, o: Options = {}): Promise<{ run: AttackRun; data: Float32Array }> {
  const count = o.count ?? f.labels.length;
  const inputs = tf.slice(f.inputs, 0, count);
  const labels = f.labels.slice(0, count);
  const before = tf.memory().numTensors;
  const run = await attack.run(clf, { inputs, labels }, { epsilon: o.epsilon, seed: o.seed ?? 1 });
  await recheck((x) => f.model.predict(x) as tf.Tensor, run, { inputs, labels, bounds: [0, 1], norm: o.norm ?? attack.norm as Exclude<Norm, 'l0'>, epsilon: o.epsilon, targets: run.targets, topK: o.topK });
  const data = (await run.adversarials.data()) as Float32Array;
  run.adversarials.dispose();
  expect(tf.memory().numTensors).toBe(before);
  inputs.dispose();
  return { run, data };
}

const count = (run: AttackRun) => run.success.filter(Boolean).length;

test('the fixture model is a real classifier', () => {
  expect(f.accuracy).toBeGreaterThan(0.85);
  expect(f.labels.length).toBe(40);
});

describe('relative strength', () => {
  test('PGD, APGD and MI-FGSM are at least as strong as FGSM at every ε', async () => {
    const rows: string[] = [];
    for (const epsilon of [0.02, 0.04, 0.06, 0.08, 0.1]) {
      const { run: one } = await attackDigits(fgsm(), { epsilon });
      const { run: projected } = await attackDigits(pgd(), { epsilon });
      const { run: auto } = await attackDigits(apgd({ steps: 50 }), { epsilon });
      const { run: momentum } = await attackDigits(mifgsm(), { epsilon });
      const { run: foolbox } = await attackDigits(pgd({ relativeStepSize: 0.01 / 0.3 }), { epsilon });
      rows.push(`${epsilon}: FGSM ${count(one)}, PGD ${count(projected)}, PGD with Foolbox's step ε/30 ${count(foolbox)}, APGD ${count(auto)}, MI-FGSM ${count(momentum)}`);
      expect(count(projected)).toBeGreaterThanOrEqual(count(one));
      expect(count(auto)).toBeGreaterThanOrEqual(count(one));
      expect(count(momentum)).toBeGreaterThanOrEqual(count(one));
    }
    console.log(`broken of 40 digits (L∞):\n${rows.join('\n')}`);
  });

  test('restarts never weaken PGD: every sample broken with one start stays broken with three', async () => {
    for (const epsilon of [0.03, 0.05]) {
      const { run: single } = await attackDigits(pgd({ steps: 20 }), { epsilon, seed: 4 });
      const { run: three } = await attackDigits(pgd({ steps: 20, restarts: 3 }), { epsilon, seed: 4 });
      single.success.forEach((s, i) => s && expect(three.success[i]).toBe(true));
      // Restarts only attack the samples still unbroken.
      const survivors = single.success.filter((s) => !s).length;
      expect(three.gradientEvaluations - single.gradientEvaluations).toBeLessThanOrEqual(2 * 20 * survivors);
    }
  });

  test('C&W’s median L2 is no larger than DeepFool’s, and where both reach the same class C&W is within 3% of it', async () => {
    const { run: fool } = await attackDigits(deepfool());
    const { run: cw } = await attackDigits(carliniWagner());
    expect(fool.success.every(Boolean) && cw.success.every(Boolean)).toBe(true);
    const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
    const same = fool.adversarialClasses.flatMap((c, i) => (c === cw.adversarialClasses[i] ? [i] : []));
    const closer = cw.distances.filter((d, i) => d < fool.distances[i]!).length;
    console.log(
      `L2 distances, DeepFool → C&W (class):\n${fool.distances.map((d, i) => `${d.toFixed(4)} (${fool.adversarialClasses[i]}) → ${cw.distances[i]!.toFixed(4)} (${cw.adversarialClasses[i]})`).join('\n')}` +
        `\nmedian DeepFool ${median(fool.distances).toFixed(4)}, C&W ${median(cw.distances).toFixed(4)}; C&W closer on ${closer} of ${cw.distances.length}`,
    );
    expect(median(cw.distances)).toBeLessThanOrEqual(median(fool.distances));
    // DeepFool's refined point is nearly exact on this small ReLU network, locally almost linear;
    // C&W's Adam steps stop a little short of that precision where abort-early ends a round.
    expect(same.length).toBeGreaterThanOrEqual(30);
    for (const i of same) expect(cw.distances[i]).toBeLessThanOrEqual(fool.distances[i]! * 1.03);
  });
});

describe('targets and criteria', () => {
  test('targeted PGD, APGD (targeted DLR), MI-FGSM and C&W land on their targets', async () => {
    const attacks: [Attack, number | undefined][] = [
      [pgd({ target: 'random', steps: 40, relativeStepSize: 0.05 }), 0.3],
      [apgd({ target: 'least-likely', steps: 50 }), 0.3],
      [mifgsm({ target: f.labels.slice(0, 20).map((y) => (y + 3) % 10) }), 0.3],
      [carliniWagner({ target: 'random', steps: 200, binarySearchSteps: 4, initialConst: 1, learningRate: 0.05 }), undefined],
    ];
    for (const [attack, epsilon] of attacks) {
      const { run } = await attackDigits(attack, { epsilon, count: 20 });
      expect(run.targets).not.toBeNull();
      run.targets!.forEach((t, i) => expect(t).not.toBe(f.labels[i]));
      expect(count(run), attack.describe()).toBeGreaterThanOrEqual(15);
    }
  });

  test('L-BFGS reaches the least-likely class by default', async () => {
    const { run } = await attackDigits(lbfgs({ steps: 60, binarySearchSteps: 5 }), { count: 5 });
    const logits = tf.tidy(() => f.model.predict(tf.slice(f.inputs, 0, 5)) as tf.Tensor);
    const z = (await logits.array()) as number[][];
    logits.dispose();
    z.forEach((row, i) => expect(run.targets![i]).toBe(row.indexOf(Math.min(...row))));
    expect(run.success.every(Boolean)).toBe(true);
  });

  test('the top-k criterion pushes the true class out of the top k, on a subset of what misclassification breaks', async () => {
    const epsilon = 0.08;
    const { run: top3 } = await attackDigits(pgd({ criterion: { kind: 'top-k', k: 3 } }), { epsilon, topK: 3 });
    const { run: plain } = await attackDigits(pgd(), { epsilon });
    expect(count(top3)).toBeGreaterThan(0);
    expect(count(top3)).toBeLessThan(count(plain));
    top3.success.forEach((s, i) => s && expect(plain.success[i]).toBe(true));
    const { run: cw } = await attackDigits(carliniWagner({ criterion: { kind: 'top-k', k: 2 }, steps: 200, binarySearchSteps: 4, initialConst: 1, learningRate: 0.05 }), { count: 10, topK: 2 });
    expect(count(cw)).toBe(10);
  });
});

describe('determinism', () => {
  test.each([
    ['PGD', () => pgd({ steps: 10 })],
    ['APGD', () => apgd({ steps: 20 })],
  ])('%s: the same seed gives identical adversarials; another seed a different start', async (_, make) => {
    const a = await attackDigits(make(), { epsilon: 0.05, seed: 7 });
    const b = await attackDigits(make(), { epsilon: 0.05, seed: 7 });
    const c = await attackDigits(make(), { epsilon: 0.05, seed: 8 });
    expect(b.run.success).toEqual(a.run.success);
    expect(b.run.gradientEvaluations).toBe(a.run.gradientEvaluations);
    expect(Buffer.from(b.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(true);
    expect(Buffer.from(c.data.buffer).equals(Buffer.from(a.data.buffer))).toBe(false);
  });

  test('DeepFool L∞ is deterministic and within its own distances', async () => {
    const a = await attackDigits(deepfool({ norm: 'linf' }), { count: 10 });
    const b = await attackDigits(deepfool({ norm: 'linf' }), { count: 10 });
    expect(b.run.distances).toEqual(a.run.distances);
    expect(count(a.run)).toBe(10);
  });
});
