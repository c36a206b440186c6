/**
 * tf.sign from ops wasm runs through XNNPACK (its Sign kernel is a scalar loop, about three
 * times slower on a 500 × 784 batch): step(x) − step(−x), each clamped to [0, 1] because step
 * passes NaN through while tf.sign(NaN) is 0 (the clamp maps NaN to its lower bound).
 */
import * as tf from '@tensorflow/tfjs-core';

export function sign(x: tf.Tensor): tf.Tensor {
  if (tf.getBackend() !== 'wasm') return tf.sign(x);
  return tf.tidy(() => tf.sub(tf.clipByValue(tf.step(x), 0, 1), tf.clipByValue(tf.step(tf.neg(x)), 0, 1)));
}
