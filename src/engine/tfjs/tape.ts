/**
 * tf.grad leaves its tape, and the tensors saved on it, behind when the differentiated function
 * or a gradient function throws (the next tf.grad simply starts a new tape). Called right after
 * such a failure, this frees them.
 */
import * as tf from '@tensorflow/tfjs-core';

export function discardFailedTape(): void {
  const state = tf.engine().state as unknown as { activeTape: { saved?: tf.Tensor[] }[] | null; gradientDepth: number };
  // Inside an enclosing tf.grad the tape is still in use.
  if (state.gradientDepth !== 0 || !state.activeTape) return;
  for (const node of state.activeTape) for (const t of node.saved ?? []) t.dispose();
  state.activeTape = null;
}
