/**
 * Gaussian blur of NHWC images: a separable kernel of standard deviation σ pixels, radius ⌈3σ⌉,
 * edges replicated. Each axis is one matrix product, which runs on every backend. Shrinks
 * toward σ = 0, where the kernel is the identity matrix and the image comes back bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fc from 'fast-check';
import { checkBudget, described, magnitude } from './arbitraries.js';
import { definePerturbation, fmt, type Perturbation } from './types.js';

/** [length, length] matrix whose row i holds the blur weights of position i. */
function blurMatrix(length: number, sigma: number): Float32Array {
  const radius = sigma === 0 ? 0 : Math.min(length, Math.ceil(3 * sigma));
  const kernel = Array.from({ length: 2 * radius + 1 }, (_, k) => (radius === 0 ? 1 : Math.exp(-((k - radius) ** 2) / (2 * sigma * sigma))));
  const total = kernel.reduce((a, b) => a + b, 0);
  const out = new Float32Array(length * length);
  for (let i = 0; i < length; i++) {
    kernel.forEach((w, k) => {
      const m = Math.min(length - 1, Math.max(0, i + k - radius));
      out[i * length + m] = out[i * length + m]! + w / total;
    });
  }
  return out;
}

/** Blurs along axis 1 of [N, L, ...rest] via [L, L] × [L, N·rest]. */
function blurAxis(x: tf.Tensor4D, axis: 1 | 2, sigma: number): tf.Tensor4D {
  const perm = axis === 1 ? [1, 0, 2, 3] : [2, 0, 1, 3];
  const moved = tf.transpose(x, perm);
  const length = moved.shape[0]!;
  const matrix = tf.tensor2d(blurMatrix(length, sigma), [length, length]);
  const blurred = tf.reshape(tf.matMul(matrix, tf.reshape(moved, [length, -1])), moved.shape);
  return tf.transpose(blurred, axis === 1 ? [1, 0, 2, 3] : [1, 2, 0, 3]) as tf.Tensor4D;
}

export function blurBy(sigma: number): Perturbation {
  const s = checkBudget(sigma, 'blur', 'sigma');
  return definePerturbation({
    kind: 'blur',
    params: { sigma: s },
    isIdentity: s === 0,
    description: `Gaussian blur σ=${fmt(s)}px`,
    rank: 4,
    apply: (x, [low, high]) => tf.clipByValue(blurAxis(blurAxis(x as tf.Tensor4D, 1, s), 2, s), low, high),
  });
}

/** Blurs of any σ up to `sigma` pixels. */
export function blur(sigma: number): fc.Arbitrary<Perturbation> {
  const budget = checkBudget(sigma, 'perturbations.blur(sigma)', 'sigma');
  return described(magnitude(0, budget, 0).map((s) => blurBy(s)), `Gaussian blurs with σ ≤ ${fmt(budget)}px`);
}
