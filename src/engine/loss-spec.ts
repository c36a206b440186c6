/**
 * What an attack loss is, stated alongside its tfjs function, so that an executor that cannot
 * call tfjs code mid-graph (onnxruntime) can write the same loss in its own operators.
 */
import type { LossFn } from './tfjs/types.js';

export interface LossSpec {
  readonly name: 'ce' | 'margin' | 'dlr';
  /** True class per row. */
  readonly labels: Int32Array;
  /** Target class per row for targeted losses, else null. */
  readonly targets: Int32Array | null;
  /** Top-k criterion: margin and DLR take the k-th best other class. */
  readonly k: number;
  /** Upper cap on the margin (C&W confidence), when given. */
  readonly cap?: number;
}

const SPEC = Symbol.for('robustest.lossSpec');

/** Attaches `spec` to `loss` (the same function) and returns it. */
export function withLossSpec(loss: LossFn, spec: LossSpec): LossFn {
  Object.defineProperty(loss, SPEC, { value: spec });
  return loss;
}

export function lossSpecOf(loss: LossFn): LossSpec | undefined {
  return (loss as unknown as Record<symbol, LossSpec | undefined>)[SPEC];
}
