/** A network as bound propagation sees it: nodes in topological order over numbered value slots. */
import type { BoundOp } from './ops/bound-op.js';

export interface BoundNode {
  readonly op: BoundOp;
  readonly inputs: readonly number[];
  readonly output: number;
}

export interface BoundGraph {
  readonly nodes: readonly BoundNode[];
  readonly input: number;
  readonly output: number;
  /** Per-sample shape of every slot. */
  readonly shapes: readonly (readonly number[])[];
  /** True when the model's final softmax was left out: bounds are on the logits before it. */
  readonly peeledSoftmax: boolean;
}
