/** The derivative of a fused activation (relu, elu, linear), from the layer's output alone. */
import type * as tf from '@tensorflow/tfjs-core';
import type { ActivationSpec } from '../activations.js';
import type { Cotangent } from './op.js';

export function activationGradient(activation: ActivationSpec, cot: Cotangent, y: tf.Tensor): tf.Tensor {
  if (activation.fused === 'linear' || (activation.isRelu && cot.reluMasked)) return cot.dy;
  return activation.backward(cot.dy, null, y);
}
