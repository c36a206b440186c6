/**
 * Tensors derived from a layer's weights (transposed, flipped, folded) for the backward pass.
 *
 * They are rebuilt when a weight variable is reassigned (training, setWeights: tfjs gives the
 * variable a new dataId) or when they have been disposed. Inside robustest calls they are shared:
 * built outside any call's ownership and freed when the last call that used them ends, so
 * concurrent calls on one model never free each other's. Outside any call they are built inside
 * the network's tf.tidy and freed with it. Either way a public call leaves
 * tf.memory().numTensors as it found it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { insideCall, untracked, useShared } from '../hygiene.js';

export class Prepared<T extends tf.Tensor[]> {
  private built: T | null = null;
  private sourceIds: object[] = [];
  private readonly users = new Set<object>();

  constructor(
    private readonly sources: () => tf.Tensor[],
    private readonly build: (sources: tf.Tensor[]) => T,
  ) {}

  get(): T {
    const sources = this.sources();
    const valid = this.built && this.built.every((t) => !t.isDisposed) && sources.every((s, i) => s.dataId === this.sourceIds[i]);
    if (!valid) {
      this.release();
      this.built = untracked(() => tf.tidy(() => this.build(sources)));
      this.sourceIds = sources.map((s) => s.dataId);
    }
    useShared(this.users, () => this.release());
    return this.built!;
  }

  release(): void {
    if (this.built) tf.dispose(this.built.filter((t) => !t.isDisposed));
    this.built = null;
  }
}

/** True when derived weights built now outlive a single gradient call (see Prepared). */
export const sharedPreparation = insideCall;
