/**
 * C&W at its defaults against DeepFool at its defaults on the bundled MNIST models: C&W's median
 * L2 over digits the model classifies correctly is no larger than DeepFool's. Every claimed
 * adversarial is re-checked by running the model, and each run leaves no tensors behind.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { carliniWagner, classifier, deepfool, ensureBackend, type Attack, type AttackRun } from '../../src/index.js';
import { loadMnistModel, mnistSamples, type MnistModelName } from '../../examples/mnist/models.js';
import { recheck } from './helpers.js';

const models = new Map<MnistModelName, tf.LayersModel>();
beforeAll(async () => {
  await ensureBackend();
  for (const name of ['mlp', 'cnn'] as const) models.set(name, await loadMnistModel(name));
});
afterAll(() => models.forEach((m) => m.dispose()));

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The first `count` test digits the model classifies correctly. */
function correctDigits(model: tf.LayersModel, count: number): { inputs: tf.Tensor; labels: number[] } {
  const all = mnistSamples(2 * count);
  const predicted = tf.tidy(() => tf.argMax(model.predict(all.inputs) as tf.Tensor, 1)).dataSync();
  const keep = all.labels.flatMap((y, i) => (predicted[i] === y ? [i] : [])).slice(0, count);
  const inputs = tf.gather(all.inputs, keep);
  all.inputs.dispose();
  return { inputs, labels: keep.map((i) => all.labels[i]!) };
}

async function runChecked(model: tf.LayersModel, attack: Attack, digits: { inputs: tf.Tensor; labels: number[] }): Promise<AttackRun> {
  const before = tf.memory().numTensors;
  const run = await attack.run(classifier(model), digits, { seed: 1 });
  await recheck((x) => model.predict(x) as tf.Tensor, run, { inputs: digits.inputs, labels: digits.labels, bounds: [0, 1], norm: 'l2' });
  run.adversarials.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return run;
}

describe('C&W against DeepFool on the bundled MNIST models', () => {
  test.each([
    ['mlp', 50],
    ['cnn', 25],
  ] as const)('%s: C&W’s median L2 over %i correctly classified digits is no larger than DeepFool’s', async (name, count) => {
    const model = models.get(name)!;
    const digits = correctDigits(model, count);
    expect(digits.labels.length).toBe(count);
    const fool = await runChecked(model, deepfool(), digits);
    const cw = await runChecked(model, carliniWagner(), digits);
    digits.inputs.dispose();
    expect(fool.success.every(Boolean) && cw.success.every(Boolean)).toBe(true);
    const closer = cw.distances.filter((d, i) => d < fool.distances[i]!).length;
    console.log(
      `${name}, ${count} digits: median L2 DeepFool ${median(fool.distances).toFixed(4)} (${fool.gradientEvaluations} gradient evaluations), ` +
        `C&W ${median(cw.distances).toFixed(4)} (${cw.gradientEvaluations}); C&W closer on ${closer} digits`,
    );
    expect(median(cw.distances)).toBeLessThanOrEqual(median(fool.distances));
  });
});
