/**
 * Attack objectives on logits, all to be maximised, per sample. Targeted variants push towards
 * the target class.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LossFn } from '../engine/gradient/types.js';

export type LossName = 'ce' | 'margin' | 'dlr';

/**
 * `cap`, for the margin loss, is C&W's confidence κ: the objective stops rewarding a margin
 * beyond it. Undefined means no cap.
 */
export function attackLoss(name: LossName, labels: Int32Array, targets: Int32Array | null, cap?: number): LossFn {
  return (logits) =>
    tf.tidy(() => {
      const classes = logits.shape[1];
      const own = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), 'float32');
      const target = targets ? tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), classes), 'float32') : null;
      switch (name) {
        case 'ce':
          return target ? tf.neg(crossEntropy(logits, target)) : crossEntropy(logits, own);
        case 'margin':
          // C&W's f: how far the best wrong class (or the target) is above the rest.
          const m = target ? tf.sub(pick(logits, target), bestOther(logits, target)) : tf.sub(bestOther(logits, own), pick(logits, own));
          return cap === undefined ? m : tf.minimum(m, cap);
        case 'dlr':
          return target ? targetedDlr(logits, own, target) : dlr(logits, own);
      }
    }) as tf.Tensor1D;
}

export function crossEntropy(logits: tf.Tensor2D, oneHot: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.sub(tf.logSumExp(logits, 1), pick(logits, oneHot)));
}

function pick(logits: tf.Tensor2D, oneHot: tf.Tensor): tf.Tensor1D {
  return tf.sum(tf.mul(logits, oneHot), 1);
}

/** max_{j: mask_j = 0} z_j */
function bestOther(logits: tf.Tensor2D, oneHot: tf.Tensor): tf.Tensor1D {
  return tf.max(tf.sub(logits, tf.mul(oneHot, 1e9)), 1);
}

/** Difference-of-logits-ratio loss (Croce & Hein 2020): scale-invariant margin. */
function dlr(logits: tf.Tensor2D, own: tf.Tensor): tf.Tensor1D {
  const [z1, , z3] = sortedLogits(logits, 3);
  const margin = tf.sub(pick(logits, own), bestOther(logits, own));
  return tf.neg(tf.div(margin, tf.add(tf.sub(z1!, z3!), 1e-12))) as tf.Tensor1D;
}

function targetedDlr(logits: tf.Tensor2D, own: tf.Tensor, target: tf.Tensor): tf.Tensor1D {
  const [z1, , z3, z4] = sortedLogits(logits, 4);
  const margin = tf.sub(pick(logits, own), pick(logits, target));
  return tf.neg(tf.div(margin, tf.add(tf.sub(z1!, tf.div(tf.add(z3!, z4!), 2)), 1e-12))) as tf.Tensor1D;
}

/**
 * The k largest logits per row, as differentiable picks: topk chooses the indices (it has no
 * gradient in tfjs), one-hot masks carry the gradient.
 */
function sortedLogits(logits: tf.Tensor2D, k: number): tf.Tensor1D[] {
  // Rebuilt from values so the tape holds no path through TopK.
  const indices = tf.tensor2d(tf.topk(logits, k).indices.dataSync(), [logits.shape[0], k], 'int32');
  return tf.unstack(indices, 1).map((idx) => pick(logits, tf.cast(tf.oneHot(idx as tf.Tensor1D, logits.shape[1]), 'float32')));
}
