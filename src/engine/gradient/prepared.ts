/**
 * Tensors derived from a layer's weights (transposed, flipped, folded) for the backward pass.
 *
 * They are rebuilt when a weight variable is reassigned (training, setWeights: tfjs gives the
 * variable a new dataId) or when they have been disposed. They belong to whatever engine scope
 * is active when they are built: the network builds them, before its own tf.tidy, inside the
 * caller's scope (a robustest call), so they serve every gradient of that call and are freed
 * with it; outside any scope they are built per call. Either way a public call leaves
 * tf.memory().numTensors as it found it.
 */
import * as tf from '@tensorflow/tfjs-core';

export class Prepared<T extends tf.Tensor[]> {
  private built: T | null = null;
  private sourceIds: object[] = [];

  constructor(
    private readonly sources: () => tf.Tensor[],
    private readonly build: (sources: tf.Tensor[]) => T,
  ) {}

  get(): T {
    const sources = this.sources();
    if (this.built && this.built.every((t) => !t.isDisposed) && sources.every((s, i) => s.dataId === this.sourceIds[i])) return this.built;
    this.release();
    this.built = tf.tidy(() => this.build(sources));
    this.sourceIds = sources.map((s) => s.dataId);
    return this.built;
  }

  release(): void {
    if (this.built) tf.dispose(this.built.filter((t) => !t.isDisposed));
    this.built = null;
  }
}

/** True when a tensor created now would be freed by an enclosing engine scope. */
export function insideEngineScope(): boolean {
  return tf.engine().state.activeScope != null;
}
