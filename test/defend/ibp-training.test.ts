// IBP training differentiates a gather (ibpMargins), whose gradient kernel the wasm backend lacks:
// this file runs on the cpu backend, chosen before robustest picks one.
process.env.ROBUSTEST_BACKEND = 'cpu';

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { blobs, toyModel } from './toy-problem.js';
import { adversarialTraining, ensureBackend, ibpMargins } from '../../src/index.js';

/** Fraction of samples whose interval margins are all positive at ε: certified robust. */
function certified(model: tf.LayersModel, data: { inputs: number[][]; labels: number[] }, epsilon: number): number {
  return tf.tidy(() => {
    const labels = tf.tensor1d(data.labels, 'int32');
    const margins = ibpMargins(model, tf.tensor2d(data.inputs), labels, epsilon);
    const others = tf.add(margins, tf.mul(tf.oneHot(labels, 2), 1e9));
    return tf.mean(tf.cast(tf.greater(tf.min(others, 1), 0), 'float32')).dataSync()[0]!;
  });
}

describe("adversarialTraining, method 'ibp'", () => {
  const train = blobs(256, 1);
  const held = blobs(128, 2);
  beforeAll(async () => {
    expect(await ensureBackend()).toBe('cpu');
  });

  it('raises the certified fraction on held-out data, and reports it per epoch', async () => {
    const model = toyModel(7);
    const before = certified(model, held, 0.1);
    const history = await adversarialTraining(model, train, { method: 'ibp', epsilon: 0.1, epochs: 8, warmupEpochs: 2, batchSize: 32, learningRate: 0.01, seed: 1, progress: false });
    const after = certified(model, held, 0.1);
    expect(after).toBeGreaterThan(0.8);
    expect(after).toBeGreaterThan(before);
    expect(history.epochs.at(-1)!.adversarialAccuracy).toBeGreaterThan(0.8);
    expect(history.generator).toBe('interval bound propagation (Gowal et al.), κ ramped from 1 to 0.5');
    model.dispose();
  });

  it('leaves tf.memory().numTensors unchanged', async () => {
    const model = toyModel(7);
    await adversarialTraining(model, train, { method: 'ibp', epsilon: 0.1, epochs: 1, seed: 1, progress: false });
    const before = tf.memory().numTensors;
    await adversarialTraining(model, train, { method: 'ibp', epsilon: 0.1, epochs: 1, seed: 1, progress: false, validationData: held });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
  });
});
