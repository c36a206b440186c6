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
 */
export function crossEntropyLogitGradient(labels: Int32Array, targets: Int32Array | null): LogitGradient {
  return (logits) =>
    tf.tidy(() => {
      const classes = logits.shape[1];
      const towards = tf.cast(tf.oneHot(tf.tensor1d(targets ?? labels, 'int32'), classes), 'float32');
      const ce = tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, towards), 1)) as tf.Tensor1D;
      const gradient = tf.sub(tf.softmax(logits), towards) as tf.Tensor2D;
      return targets ? { loss: tf.neg(ce) as tf.Tensor1D, gradient: tf.neg(gradient) as tf.Tensor2D } : { loss: ce, gradient };
    });
}
