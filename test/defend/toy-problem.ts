/** The 2-D toy problem the training tests learn: two Gaussian blobs in [0, 1]², and a small MLP. */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/index.js';

/** n points, labels alternating 0/1, blob centres at x = 0.25 and 0.75, clipped to [0, 1]. */
export function blobs(n: number, seed: number): { inputs: number[][]; labels: number[] } {
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

/** Dense 16 relu → Dense 2, its initial weights from the seed. */
export function toyModel(seed: number): tf.Sequential {
  const rng = new Rng(seed);
  const init = (k: string) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed: rng.split(k).integerSeed() }), biasInitializer: 'zeros' as const });
  return tf.sequential({
    layers: [tf.layers.dense({ inputShape: [2], units: 16, activation: 'relu', ...init('a') }), tf.layers.dense({ units: 2, ...init('b') })],
  });
}
