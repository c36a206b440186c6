/**
 * sign(x) as step(x) − step(−x): the same values (0 at 0, NaN at NaN), from ops wasm runs
 * through XNNPACK, where its Sign kernel is a scalar loop about ten times slower.
 */
import * as tf from '@tensorflow/tfjs-core';

export function sign(x: tf.Tensor): tf.Tensor {
  if (tf.getBackend() !== 'wasm') return tf.sign(x);
  return tf.tidy(() => tf.sub(tf.step(x), tf.step(tf.neg(x))));
}
