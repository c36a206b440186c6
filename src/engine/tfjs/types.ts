import type * as tf from '@tensorflow/tfjs-core';

/** A per-sample loss on logits: [N, classes] → [N]. Gradients are of its sum. */
export type LossFn = (logits: tf.Tensor2D) => tf.Tensor1D;

export interface GradientResult {
  /** Logits of the input the gradient was taken at. */
  logits: tf.Tensor2D;
  /** Per-sample loss, [N]. */
  loss: tf.Tensor1D;
  /** d(sum of loss)/d(input), shaped like the input. */
  gradient: tf.Tensor;
}

/**
 * A differentiable view of a model: logits and the exact input gradient of a loss on them.
 * Both are synchronous and create no tensors beyond the ones they return.
 */
export interface Network {
  forward(x: tf.Tensor): tf.Tensor2D;
  valueAndGradient(x: tf.Tensor, loss: LossFn): GradientResult;
  /** Human-readable summary of how gradients are computed (engine or tf.grad fallback). */
  readonly gradientPath: string;
  /**
   * True when the model ends in softmax and `forward` returns the logits before it, so that
   * gradients do not vanish where the softmax saturates.
   */
  readonly peeledSoftmax: boolean;
  dispose(): void;
}
