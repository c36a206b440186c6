/**
 * Tensor hygiene for async code. tf.tidy cannot span an await, so each public call runs in an
 * engine scope: every tensor created inside is disposed when the call settles, success or
 * failure, except those the call returns to its caller through `keep`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ensureBackend, type BackendName } from '../backend.js';

export interface Scope {
  /** The backend this call runs on. */
  readonly backend: BackendName;
  /** Marks a tensor to outlive the call (the caller becomes its owner). */
  keep<T extends tf.Tensor>(tensor: T): T;
}

export async function scoped<T>(body: (scope: Scope) => Promise<T>): Promise<T> {
  const backend = await ensureBackend();
  const engine = tf.engine();
  const kept = new Set<tf.Tensor>();
  engine.startScope('robustest');
  let result: T | undefined;
  try {
    result = await body({
      backend,
      keep(tensor) {
        kept.add(tensor);
        return tensor;
      },
    });
    return result;
  } finally {
    // endScope keeps tensors reachable from its argument; pass exactly the ones we keep.
    engine.endScope([...kept] as tf.TensorContainer);
  }
}

/** Disposes a tensor or a list of tensors, ignoring undefined and already disposed ones. */
export function dispose(...tensors: (tf.Tensor | undefined | null)[]): void {
  for (const t of tensors) if (t && !t.isDisposed) t.dispose();
}
