/**
 * Attack objectives on logits, all to be maximised, per sample. Targeted variants push towards
 * the target class; with a top-k criterion the margin and DLR losses push the k-th best other
 * class above the true one.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LossFn } from '../engine/tfjs/types.js';
import { crossEntropyLogitGradient, withLogitGradient, type LogitGradient } from '../engine/tfjs/closed-form.js';
import { withLossSpec } from '../engine/loss-spec.js';

export type LossName = 'ce' | 'margin' | 'dlr';

export interface LossOptions {
  /** C&W's confidence κ for the margin loss: the objective stops rewarding a margin beyond it. */
  cap?: number;
  /** Top-k criterion: the margin is taken against the k-th best other class. Default 1. */
  k?: number;
}

export function attackLoss(name: LossName, labels: Int32Array, targets: Int32Array | null, options: LossOptions = {}): LossFn {
  const k = options.k ?? 1;
  const loss: LossFn = (logits) =>
    tf.tidy(() => {
      const classes = logits.shape[1];
      const own = oneHot(labels, classes);
      const target = targets ? oneHot(targets, classes) : null;
      switch (name) {
        case 'ce':
          return target ? tf.neg(crossEntropy(logits, target)) : crossEntropy(logits, own);
        case 'margin': {
          const m = marginOf(logits, own, target, k);
          return options.cap === undefined ? m : tf.minimum(m, options.cap);
        }
        case 'dlr':
          return target ? targetedDlr(logits, own, target) : dlr(logits, own, k);
      }
    }) as tf.Tensor1D;
  // The gradient engine uses the closed form instead of tf.grad on this head.
  const described =
    name === 'ce' ? withLogitGradient(loss, crossEntropyLogitGradient(labels, targets)) : name === 'dlr' ? withLogitGradient(loss, dlrLogitGradient(labels, targets, k)) : loss;
  // The spec lets an executor write this loss in its own operators (onnxruntime).
  return withLossSpec(described, { name, labels, targets, k, cap: options.cap });
}

/**
 * The criterion margin, differentiable: best other − own (k-th best other for top-k), or
 * target − best other. Positive exactly where the logits are adversarial.
 */
export function criterionMargin(labels: Int32Array, targets: Int32Array | null, k = 1): LossFn {
  const margin: LossFn = (logits) => tf.tidy(() => marginOf(logits, oneHot(labels, logits.shape[1]), targets ? oneHot(targets, logits.shape[1]) : null, k));
  return withLossSpec(margin, { name: 'margin', labels, targets, k });
}

function marginOf(logits: tf.Tensor2D, own: tf.Tensor, target: tf.Tensor | null, k: number): tf.Tensor1D {
  return target ? tf.sub(pick(logits, target), kthOther(logits, target, 1)) : tf.sub(kthOther(logits, own, k), pick(logits, own));
}

function oneHot(classes: Int32Array, width: number): tf.Tensor2D {
  return tf.cast(tf.oneHot(tf.tensor1d(classes, 'int32'), width), 'float32') as tf.Tensor2D;
}

export function crossEntropy(logits: tf.Tensor2D, oneHotClasses: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => tf.sub(tf.logSumExp(logits, 1), pick(logits, oneHotClasses)));
}

function pick(logits: tf.Tensor2D, mask: tf.Tensor): tf.Tensor1D {
  return tf.sum(tf.mul(logits, mask), 1);
}

/** The k-th largest logit among the classes the mask leaves out. */
function kthOther(logits: tf.Tensor2D, mask: tf.Tensor, k: number): tf.Tensor1D {
  const masked = tf.sub(logits, tf.mul(mask, 1e9));
  if (k === 1) return tf.max(masked, 1);
  return pick(logits, columnMask(tf.topk(masked, k).indices, k - 1, logits.shape));
}

/** Difference-of-logits-ratio loss (Croce & Hein 2020): scale-invariant margin. */
function dlr(logits: tf.Tensor2D, own: tf.Tensor, k: number): tf.Tensor1D {
  const [z1, , z3] = sortedLogits(logits, 3);
  const margin = tf.sub(pick(logits, own), kthOther(logits, own, k));
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
  const indices = tf.topk(logits, k).indices;
  return Array.from({ length: k }, (_, j) => pick(logits, columnMask(indices, j, logits.shape)));
}

/** One-hot rows of column j of `indices`, rebuilt from values so the tape holds no path through TopK. */
function columnMask(indices: tf.Tensor, j: number, shape: [number, number]): tf.Tensor2D {
  const [n, width] = shape;
  const all = indices.dataSync();
  const stride = indices.shape[1]!;
  const chosen = Int32Array.from({ length: n }, (_, i) => all[i * stride + j]!);
  return oneHot(chosen, width);
}

/**
 * The DLR losses with their logit gradient, on the host: APGD-T evaluates this head at every
 * step of every target, and the tensor version costs some thirty small ops and a tape. Each
 * value is rounded to float32 where the tensor ops round, and the gradient is what tf.grad
 * gives on the tensor version (a ratio −m/D: −1/D on the margin's classes, m/D² on the
 * denominator's), so both heads agree bit for bit.
 */
export function dlrLogitGradient(labels: Int32Array, targets: Int32Array | null, k = 1): LogitGradient {
  const f = Math.fround;
  const tiny = f(1e-12);
  return (logits) => {
    const [n, classes] = logits.shape;
    const z = logits.dataSync();
    const loss = new Float32Array(n);
    const gradient = new Float32Array(n * classes);
    const order = new Int32Array(classes);
    for (let i = 0, row = 0; i < n; i++, row += classes) {
      rankRow(z, row, classes, order);
      const y = labels[i]!;
      const g = (c: number, v: number) => (gradient[row + c] = f(gradient[row + c]! + v));
      if (targets) {
        const t = targets[i]!;
        const margin = f(z[row + y]! - z[row + t]!);
        const denominator = f(f(z[row + order[0]!]! - f(f(z[row + order[2]!]! + z[row + order[3]!]!) / 2)) + tiny);
        loss[i] = -f(margin / denominator);
        const dMargin = f(-1 / denominator);
        const dDenominator = f(margin / f(denominator * denominator));
        g(y, dMargin);
        g(t, -dMargin);
        g(order[0]!, dDenominator);
        g(order[2]!, f(-dDenominator / 2));
        g(order[3]!, f(-dDenominator / 2));
      } else {
        // The k-th best class other than y; for k = 1, tf.max hands its gradient to every tie.
        let other = -Infinity;
        const ties: number[] = [];
        if (k === 1) {
          for (let c = 0; c < classes; c++) if (c !== y) other = Math.max(other, z[row + c]!);
          for (let c = 0; c < classes; c++) if (c !== y && z[row + c] === other) ties.push(c);
        } else {
          const kth = order.filter((c) => c !== y)[k - 1]!;
          other = z[row + kth]!;
          ties.push(kth);
        }
        const margin = f(z[row + y]! - other);
        const denominator = f(f(z[row + order[0]!]! - z[row + order[2]!]!) + tiny);
        loss[i] = -f(margin / denominator);
        const dMargin = f(-1 / denominator);
        const dDenominator = f(margin / f(denominator * denominator));
        g(y, dMargin);
        for (const c of ties) g(c, -dMargin);
        g(order[0]!, dDenominator);
        g(order[2]!, -dDenominator);
      }
    }
    return { loss: tf.tensor1d(loss), gradient: tf.tensor2d(gradient, [n, classes]) };
  };
}

/** Classes of one logit row by decreasing value, ties to the lower index (as tf.topk orders them). */
function rankRow(z: ArrayLike<number>, row: number, classes: number, order: Int32Array): void {
  for (let c = 0; c < classes; c++) order[c] = c;
  order.sort((a, b) => z[row + b]! - z[row + a]! || a - b);
}

/** Smallest class count each loss needs. */
export function minimumClasses(name: LossName, targeted: boolean): number {
  return name === 'dlr' ? (targeted ? 4 : 3) : 2;
}
