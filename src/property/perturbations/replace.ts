/** Replacement of whole sites (pixels or features): x·(1 − mask) + value·mask, exact where mask is 0. */
import * as tf from '@tensorflow/tfjs-core';
import type { Bounds } from '../../model/classifier.js';
import { patternTensor } from './types.js';

/**
 * `mask` is 0/1 per element of one input; `unit` in [0, 1] per element maps onto [low, high], so
 * replaced values are inside the bounds by construction.
 */
export function replaceSites(x: tf.Tensor, [low, high]: Bounds, mask: Float32Array, unit: Float32Array): tf.Tensor {
  const m = patternTensor(x, mask);
  const values = tf.add(tf.mul(patternTensor(x, unit), high - low), low);
  return tf.clipByValue(tf.add(tf.mul(x, tf.sub(1, m)), tf.mul(values, m)), low, high);
}
