/**
 * Strength of the query-based attacks against the gradient attacks on the bundled MNIST models:
 * Square L∞ within 5 points of PGD's robust accuracy at the same ε, HopSkipJump's median L2
 * within 2× of C&W's. Seeds are fixed, so the verdicts are reproducible on one backend.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carliniWagner, classifier, hopSkipJump, pgd, square, type AttackRun } from '../../src/index.js';
import { loadMnistModel, mnistSamples, type MnistModelName } from '../../examples/mnist/models.js';
import { recheck } from './helpers.js';

const models = new Map<MnistModelName, tf.LayersModel>();
beforeAll(async () => {
  for (const name of ['mlp', 'cnn'] as const) models.set(name, await loadMnistModel(name));
});
afterAll(() => models.forEach((m) => m.dispose()));

const robustAccuracy = (run: AttackRun) => run.success.filter((s) => !s).length / run.success.length;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

describe('query-based attacks against gradient attacks on MNIST', () => {
  it.each([
    ['mlp', 50, 0.05],
    ['cnn', 30, 0.1],
  ] as const)('%s: Square L∞ reaches PGD’s robust accuracy at the same ε, within 5 points', async (name, count, epsilon) => {
    const model = models.get(name)!;
    const digits = mnistSamples(count);
    const clf = classifier(model);
    const reference = await pgd({ norm: 'linf' }).run(clf, digits, { epsilon, seed: 1 });
    const run = await square({ norm: 'linf', queries: 5000 }).run(clf, digits, { epsilon, seed: 1 });
    await recheck(run, { predict: (x) => model.predict(x) as tf.Tensor, inputs: digits.inputs, labels: digits.labels, norm: 'linf', epsilon });
    // A meaningful ε: PGD neither breaks everything nor nothing.
    expect(robustAccuracy(reference)).toBeGreaterThan(0.1);
    expect(robustAccuracy(reference)).toBeLessThan(0.9);
    expect(robustAccuracy(run)).toBeLessThanOrEqual(robustAccuracy(reference) + 0.05);
    tf.dispose([digits.inputs, reference.adversarials, run.adversarials]);
  });

  it('mlp: HopSkipJump’s median L2 is within 2× of C&W’s', async () => {
    const model = models.get('mlp')!;
    const digits = mnistSamples(10);
    const clf = classifier(model);
    const cw = await carliniWagner().run(clf, digits, { seed: 1 });
    const hsj = await hopSkipJump({ norm: 'l2', queries: 5000 }).run(clf, digits, { seed: 1 });
    await recheck(hsj, { predict: (x) => model.predict(x) as tf.Tensor, inputs: digits.inputs, labels: digits.labels, norm: 'l2' });
    // Medians over the digits the model gets right and C&W breaks; HopSkipJump must break them all.
    const attacked = digits.labels.map((_, i) => i).filter((i) => cw.distances[i]! > 0 && Number.isFinite(cw.distances[i]!));
    expect(attacked.length).toBeGreaterThanOrEqual(8);
    for (const i of attacked) expect(hsj.success[i]).toBe(true);
    const cwMedian = median(attacked.map((i) => cw.distances[i]!));
    const hsjMedian = median(attacked.map((i) => hsj.distances[i]!));
    expect(hsjMedian).toBeLessThanOrEqual(2 * cwMedian);
    tf.dispose([digits.inputs, cw.adversarials, hsj.adversarials]);
  });
});
