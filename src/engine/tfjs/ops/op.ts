/**
 * One node of a compiled network: a forward computation and its vector-Jacobian product with
 * respect to its inputs only.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** The gradient arriving at a node's output. */
export interface Cotangent {
  readonly dy: tf.Tensor;
  /**
   * True when dy is already zero wherever this node's output is a flat relu zero, so a relu
   * derivative would change nothing (see MaxPool's relu gate).
   */
  readonly reluMasked: boolean;
}

/** A gradient leaving a node towards one of its inputs. */
export interface InputGradient {
  readonly gradient: tf.Tensor;
  readonly reluMasked?: boolean;
}

export interface Op {
  /**
   * Set when this node's derivative is not hand-written: what it is (a layer class or an
   * activation), for gradientPath.
   */
  readonly autodiff?: string;
  /** Set once this node's tf.grad has had to run on the cpu backend (see FallbackOp). */
  readonly onCpu?: boolean;
  /** The output is relu of something: zero exactly where the node's derivative is zero. */
  readonly reluOutput?: boolean;
  /** Builds (or revalidates) tensors derived from the weights; see Prepared. */
  prepare?(): void;
  forward(inputs: readonly tf.Tensor[]): tf.Tensor;
  /**
   * Gradients for each input (null: none). May return cot.dy itself; must not dispose its
   * arguments. Runs inside a tf.tidy owned by the network.
   */
  backward(cot: Cotangent, inputs: readonly tf.Tensor[], output: tf.Tensor): (InputGradient | null)[];
  dispose?(): void;
}

/** The gradient and nothing known about it. */
export function plain(gradient: tf.Tensor): InputGradient {
  return { gradient };
}
