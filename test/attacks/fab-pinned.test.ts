/**
 * FAB's adversarials pinned on a small ReLU network: the distances, success and a weighted
 * checksum of every adversarial, recorded from the sequential-per-sample implementation, for
 * FAB-T and FAB in L∞, L2 and L1, with and without ε, with restarts. The step loop and the
 * projections may be reorganised for speed; what they produce for a seed may not move beyond
 * float rounding.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, test } from 'vitest';
import { classifier, ensureBackend, fab, Rng, type FabOptions } from '../../src/index.js';

beforeAll(async () => {
  await ensureBackend();
});

const FEATURES = 64;
const HIDDEN = 24;
const CLASSES = 10;
const SAMPLES = 8;

/** A 64-24-10 ReLU network on 8×8 inputs, with seeded weights and inputs; one label is wrong on purpose. */
function smallNetwork(seed: number) {
  const rng = new Rng(seed);
  const w1 = Float32Array.from({ length: FEATURES * HIDDEN }, () => rng.normal() * 0.35);
  const b1 = Float32Array.from({ length: HIDDEN }, () => rng.normal() * 0.1);
  const w2 = Float32Array.from({ length: HIDDEN * CLASSES }, () => rng.normal() * 0.5);
  const b2 = Float32Array.from({ length: CLASSES }, () => rng.normal() * 0.1);
  const fn = (x: tf.Tensor) =>
    tf.tidy(() => {
      const h = tf.relu(tf.add(tf.matMul(tf.reshape(x, [x.shape[0], FEATURES]), tf.tensor2d(w1, [FEATURES, HIDDEN])), tf.tensor1d(b1)));
      return tf.add(tf.matMul(h, tf.tensor2d(w2, [HIDDEN, CLASSES])), tf.tensor1d(b2));
    });
  const xs = Float32Array.from({ length: SAMPLES * FEATURES }, () => rng.uniform(0, 1));
  const inputs = tf.tensor4d(xs, [SAMPLES, 8, 8, 1]);
  const labels = tf.tidy(() => Array.from(fn(inputs).argMax(1).dataSync()));
  labels[7] = (labels[7]! + 1) % CLASSES;
  return { fn, inputs, labels };
}

type Pinned = [name: string, options: FabOptions, epsilon: number | undefined, success: string, distances: (number | null)[], checksum: number];

const PINNED: Pinned[] = [
  ['L∞ FAB-T', { norm: 'linf', targeted: true }, undefined, '11111111', [0.0119066834, 0.0184625685, 0.038440682, 0.00723472983, 0.0580862761, 0.0317505002, 0.0669779032, 0], 12081.4258165],
  ['L∞ FAB-T within ε', { norm: 'linf', targeted: true }, 0.05, '11110101', [0.0124371946, 0.0192851126, 0.0401533544, 0.00755703449, null, 0.0331463367, null, 0], 12086.143705],
  ['L2 FAB-T', { norm: 'l2', targeted: true }, undefined, '11111111', [0.0735304654, 0.120444626, 0.232217431, 0.0451215729, 0.344131976, 0.202590451, 0.414686859, 0], 12056.4646026],
  ['L2 FAB-T within ε', { norm: 'l2', targeted: true }, 0.4, '11111101', [0.0768065974, 0.126363292, 0.241447896, 0.0471317805, 0.359438837, 0.21161662, null, 0], 12058.9584095],
  ['L1 FAB-T', { norm: 'l1', targeted: true }, undefined, '11111111', [0.191544712, 0.373714596, 0.849035144, 0.0977839231, 0.880552292, 0.475191206, 1.12030208, 0], 12046.2469461],
  ['L∞ FAB, 3 restarts', { norm: 'linf', restarts: 3 }, 0.08, '11111111', [0.0124371946, 0.0192851126, 0.0401533544, 0.00755703449, 0.0606167912, 0.0331463367, 0.0696449876, 0], 12075.5134776],
  ['L2 FAB-T, 4 targets, 2 restarts', { norm: 'l2', targeted: true, targetClasses: 4, restarts: 2, steps: 30 }, undefined, '11111111', [0.0735304654, 0.120444812, 0.232217431, 0.0451215729, 0.344131976, 0.202590451, 0.414686859, 0], 12056.4646185],
];

test.each(PINNED)('%s: the pinned adversarials for seed 11', async (_, options, epsilon, success, distances, checksum) => {
  const f = smallNetwork(5);
  const before = tf.memory().numTensors;
  const run = await fab(options).run(classifier(f.fn, { bounds: [0, 1] }), { inputs: f.inputs, labels: f.labels }, { seed: 11, ...(epsilon === undefined ? {} : { epsilon }) });
  const data = await run.adversarials.data();
  run.adversarials.dispose();
  expect(tf.memory().numTensors).toBe(before);
  f.inputs.dispose();
  let sum = 0;
  for (let j = 0; j < data.length; j++) sum += data[j]! * ((j % 97) + 1);
  expect(run.success.map((s) => (s ? 1 : 0)).join('')).toBe(success);
  run.distances.forEach((d, i) => {
    const pinned = distances[i];
    if (pinned === null) expect(d, `sample ${i}`).toBe(Infinity);
    else expect(Math.abs(d - pinned!), `sample ${i}: ${d} against ${pinned}`).toBeLessThanOrEqual(1e-6 * Math.max(pinned!, 1e-3));
  });
  expect(Math.abs(sum - checksum)).toBeLessThanOrEqual(1e-8 * checksum);
});
