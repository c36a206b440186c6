/**
 * Input gradients through tfjs's own autodiff (tf.grad). Used for plain functions, graph models
 * and layers the layer engine does not know.
 */
import * as tf from '@tensorflow/tfjs-core';
import { discardFailedTape } from './tape.js';
import type { GradientResult, LossFn } from './types.js';

export function autodiffValueAndGradient(
  forward: (x: tf.Tensor) => tf.Tensor2D,
  x: tf.Tensor,
  loss: LossFn,
): GradientResult {
  let logits: tf.Tensor2D | undefined;
  let perSample: tf.Tensor1D | undefined;
  try {
    const { grads, value } = tf.valueAndGrads((input: tf.Tensor) => {
      logits = tf.keep(forward(input));
      perSample = tf.keep(loss(logits));
      return tf.sum(perSample);
    })([x]);
    value.dispose();
    return { logits: logits!, loss: perSample!, gradient: grads[0]! };
  } catch (error) {
    for (const t of [logits, perSample]) t?.dispose();
    discardFailedTape();
    throw error;
  }
}
