/**
 * The input gradients attacks rely on, checked against central finite differences of the
 * classifier's own logits, for the losses the attacks use, on small dense and conv models.
 * Runs on the cpu backend: the stock tfjs gradient through conv layers is missing on wasm.
 */
process.env.ROBUSTEST_BACKEND = 'cpu';

import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { classifier, ensureBackend, type Classifier } from '../../src/index.js';
import { attackLoss, criterionMargin, type LossName } from '../../src/attacks/losses.js';
import type { LossFn } from '../../src/engine/tfjs/types.js';
import { fixtureRandom } from './helpers.js';

beforeAll(async () => {
  expect(await ensureBackend()).toBe('cpu');
});

afterAll(() => {
  delete process.env.ROBUSTEST_BACKEND;
});

function dense(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [7], units: 6, activation: 'tanh', kernelInitializer: tf.initializers.glorotNormal({ seed: 3 }), biasInitializer: 'ones' }),
      tf.layers.dense({ units: 5, kernelInitializer: tf.initializers.glorotNormal({ seed: 4 }) }),
    ],
  });
}

function conv(): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [6, 6, 2], filters: 3, kernelSize: 3, activation: 'tanh', kernelInitializer: tf.initializers.glorotNormal({ seed: 5 }) }),
      tf.layers.averagePooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 4, kernelInitializer: tf.initializers.glorotNormal({ seed: 6 }) }),
    ],
  });
}

/** Central differences of the summed loss over every input coordinate, in float64 arithmetic on float32 evaluations. */
async function finiteDifferences(clf: Classifier, x: Float32Array, shape: number[], loss: LossFn, h: number): Promise<Float64Array> {
  const out = new Float64Array(x.length);
  const value = async (data: Float32Array) => {
    const input = tf.tensor(data, shape);
    const logits = await clf.logits(input);
    const l = loss(logits);
    const v = Array.from(await l.data()).reduce((a, b) => a + b, 0);
    tf.dispose([input, logits, l]);
    return v;
  };
  for (let i = 0; i < x.length; i++) {
    const plus = x.slice();
    const minus = x.slice();
    plus[i]! += h;
    minus[i]! -= h;
    out[i] = ((await value(plus)) - (await value(minus))) / (2 * h);
  }
  return out;
}

async function compare(model: tf.LayersModel, shape: number[], loss: LossFn): Promise<void> {
  const clf = classifier(model, { outputs: 'logits' });
  const r = fixtureRandom(17);
  const x = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 0.2 + 0.6 * r());
  const input = tf.tensor(x, shape);
  const before = tf.memory().numTensors;
  const { gradient, logits, loss: perSample } = await clf.valueAndGradient(input, loss);
  expect(gradient.shape).toEqual(shape);
  expect(perSample.shape).toEqual([shape[0]]);
  const analytic = await gradient.data();
  tf.dispose([gradient, logits, perSample]);
  expect(tf.memory().numTensors).toBe(before);
  const numeric = await finiteDifferences(clf, x, shape, loss, 3e-3);
  input.dispose();
  const scale = Math.max(...numeric.map(Math.abs));
  expect(scale).toBeGreaterThan(1e-3);
  for (let i = 0; i < x.length; i++) expect(Math.abs(analytic[i]! - numeric[i]!)).toBeLessThanOrEqual(2e-3 * scale + 1e-5);
}

const labels = Int32Array.from([0, 3, 1]);
const targets = Int32Array.from([2, 0, 3]);

describe.each([
  ['dense', dense, [3, 7]],
  ['conv', conv, [3, 6, 6, 2]],
] as const)('%s model', (_, make, shape) => {
  const model = make();
  test.each<[string, LossFn]>([
    ...(['ce', 'margin', 'dlr'] as LossName[]).map((name): [string, LossFn] => [`${name} loss`, attackLoss(name, labels, null)]),
    ['targeted ce', attackLoss('ce', labels, targets)],
    ['targeted dlr', attackLoss('dlr', labels, targets)],
    ['top-2 margin', attackLoss('margin', labels, null, { k: 2 })],
    ['criterion margin (C&W, DeepFool)', criterionMargin(labels, null)],
  ])('input gradient of the %s matches finite differences', async (__, loss) => {
    await compare(model, [...shape], loss);
  });
});
