/**
 * The L∞ PGD step run whole by an executor: the loss gradient, the signed step, the projection on
 * the ε-ball and the clip to bounds in one call on host memory. An iterate then never becomes a
 * tfjs tensor between steps, which on a small model is most of a step's time.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** x ← clip(x0 + clip(x + size·sign(∇loss) − x0, −ε, ε), bounds), as src/attacks/pgd.ts steps. */
export interface LinfStep {
  readonly size: number;
  readonly epsilon: number;
  readonly bounds: readonly [number, number];
}

/**
 * One step for the rows of `x` (row-major [rows, ...inputShape]) around `origin` (same layout):
 * the logits at x (a tensor the caller disposes) and the next iterate, written into `into` when
 * given (same length as x, neither x nor origin), so a loop can alternate two buffers.
 */
export type LinfStepper = (
  x: Float32Array,
  origin: Float32Array,
  rows: number,
  step: LinfStep,
  into?: Float32Array,
) => Promise<{ logits: tf.Tensor2D; next: Float32Array }>;
