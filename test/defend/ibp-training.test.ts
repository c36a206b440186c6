// IBP training differentiates a gather (ibpMargins), whose gradient kernel the wasm backend lacks:
// this file runs on the cpu backend, chosen before robustest picks one.
process.env.ROBUSTEST_BACKEND = 'cpu';

import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { adversarialTraining, ensureBackend, ibpMargins, Rng } from '../../src/index.js';

function blobs(n: number, seed: number): { inputs: number[][]; labels: number[] } {
  const rng = new Rng(seed);
  const inputs: number[][] = [];
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    const clip = (v: number) => Math.min(1, Math.max(0, v));
    inputs.push([clip((label ? 0.75 : 0.25) + 0.06 * rng.normal()), clip(0.5 + 0.15 * rng.normal())]);
    labels.push(label);
  }
  return { inputs, labels };
}

function toyModel(seed: number): tf.Sequential {
  const rng = new Rng(seed);
  const init = (k: string) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed: rng.split(k).integerSeed() }), biasInitializer: 'zeros' as const });
  return tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 16, activation: 'relu', ...init('a') }), tf.layers.dense({ units: 2, ...init('b') })] });
}

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
