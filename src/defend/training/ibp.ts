/**
 * The IBP training loss (Gowal et al. 2018): κ·CE(f(x), y) + (1 − κ)·CE(−m, y), where m are the
 * interval lower bounds of logit_y − logit_j over the ε-ball (src/certify's ibpMargins, tfjs
 * operations differentiable in the weights). κ starts at 1 and ramps down with ε.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ibpMargins } from '../../certify/ibp-tensors.js';
import { RobustestError } from '../../errors.js';
import { crossEntropy, type ModelView } from './model-view.js';

/** ibpMargins gathers the label rows of the last layer; the gradient of a gather needs UnsortedSegmentSum. */
export function checkIbpKernels(backend: string): void {
  if (tf.getKernel('UnsortedSegmentSum', backend) === undefined) {
    throw new RobustestError('BACKEND_UNAVAILABLE', `adversarialTraining(): method 'ibp' differentiates a gather, whose gradient kernel (UnsortedSegmentSum) the ${backend} backend lacks.`, {
      expected: 'a backend with UnsortedSegmentSum: ROBUSTEST_BACKEND=cpu or tensorflow (tfjs-node)',
      received: `the ${backend} backend`,
    });
  }
}

export function ibpLoss(
  view: ModelView,
  x: tf.Tensor,
  labels: tf.Tensor1D,
  oneHot: tf.Tensor2D,
  epsilon: number,
  kappa: number,
  bounds: readonly [number, number],
): { loss: tf.Scalar; certified: tf.Scalar } {
  const margins = ibpMargins(view.model, x, labels, epsilon, bounds);
  const robust = crossEntropy(tf.logSoftmax(tf.neg(margins)) as tf.Tensor2D, oneHot);
  const clean = crossEntropy(view.logProbabilities(x, true), oneHot);
  // Certified: every margin but the label's own (which is 0) is positive.
  const certified = tf.sum(tf.cast(tf.greater(tf.min(tf.add(margins, tf.mul(oneHot, 1e9)), 1), 0), 'float32')) as tf.Scalar;
  return { loss: tf.add(tf.mul(kappa, clean), tf.mul(1 - kappa, robust)) as tf.Scalar, certified };
}
