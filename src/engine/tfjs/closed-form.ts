/**
 * Losses that carry their logit gradient in closed form. The engine then skips tf.grad on the
 * loss head, whose tape costs about as much as a dense layer's backward pass on MNIST-sized
 * batches (some twenty small ops recorded, cloned and replayed per call).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LossFn } from './types.js';

export type LogitGradient = (logits: tf.Tensor2D) => { loss: tf.Tensor1D; gradient: tf.Tensor2D };

const CLOSED_FORM = Symbol.for('robustest.logitGradient');

/** `loss`, also carrying `closedForm`: the same per-sample values and d(Σ loss)/d(logits). */
export function withLogitGradient(loss: LossFn, closedForm: LogitGradient): LossFn {
  const carrier: LossFn = (logits) => loss(logits);
  Object.defineProperty(carrier, CLOSED_FORM, { value: closedForm });
  return carrier;
}

export function logitGradientOf(loss: LossFn): LogitGradient | undefined {
  return (loss as unknown as Record<symbol, LogitGradient | undefined>)[CLOSED_FORM];
}

/**
 * Cross-entropy on logits, as attack objective: lse(z) − z_y (untargeted, pushing away from the
 * label) or z_t − lse(z) (targeted). Gradient: softmax(z) − onehot(y), resp. onehot(t) − softmax(z).
 *
 * Computed on the host in double precision: the logits are a few values per sample, and one
 * pass over them replaces a dozen tensor ops whose dispatch would cost more than their work.
 */
export function crossEntropyLogitGradient(labels: Int32Array, targets: Int32Array | null): LogitGradient {
  const towards = targets ?? labels;
  const sign = targets ? -1 : 1;
  return (logits) => {
    const [n, classes] = logits.shape;
    const z = logits.dataSync();
    const loss = new Float32Array(n);
    const gradient = new Float32Array(n * classes);
    for (let i = 0, row = 0; i < n; i++, row += classes) {
      let max = -Infinity;
      for (let k = 0; k < classes; k++) max = Math.max(max, z[row + k]!);
      let sum = 0;
      for (let k = 0; k < classes; k++) sum += Math.exp(z[row + k]! - max);
      const t = towards[i]!;
      loss[i] = sign * (max + Math.log(sum) - z[row + t]!);
      for (let k = 0; k < classes; k++) gradient[row + k] = sign * (Math.exp(z[row + k]! - max) / sum - (k === t ? 1 : 0));
    }
    return { loss: tf.tensor1d(loss), gradient: tf.tensor2d(gradient, [n, classes]) };
  };
}
