/**
 * The L∞ PGD step after the input gradient, inside the emitted model. Op for op the tfjs step of
 * src/attacks/pgd.ts, each rounded to float32 alike, so both executors move an iterate the same
 * way from the same gradient. The sign is (g > 0) − (g < 0): 0 for a NaN, as tf.sign gives.
 */
import { reshapeSamples } from './layout.js';
import type { OnnxWriter, ValueSpec } from './proto.js';

/** The per-run inputs of the step besides x: the origins, and the scalars of LinfStep. */
export function linfStepInputs(inputShape: readonly number[]): ValueSpec[] {
  return [{ name: 'origin', shape: inputShape }, ...['size', 'epsilon', 'low', 'high'].map((name) => ({ name, shape: [], batched: false }))];
}

/**
 * The next iterate, in the graph's order. The arithmetic runs on [N, size] rows: onnxruntime
 * broadcasts a scalar over a trailing axis of 1 (an [H, W, 1] image) one element per call, about
 * fifty times slower.
 */
export function emitLinfStep(w: OnnxWriter, input: string, inputGradient: string, inputShape: readonly number[]): string {
  const rows = (value: string) => w.op('Reshape', [value, w.int64s([0, -1])]);
  const [x, gradient, origin] = [rows(input), rows(inputGradient), rows('origin')];
  const zero = w.scalar(0);
  const positive = w.op('Cast', [w.op('Greater', [gradient, zero])], { to: { i: 1 } });
  const negative = w.op('Cast', [w.op('Less', [gradient, zero])], { to: { i: 1 } });
  const moved = w.op('Add', [x, w.op('Mul', [w.op('Sub', [positive, negative]), 'size'])]);
  const delta = w.op('Clip', [w.op('Sub', [moved, origin]), w.op('Neg', ['epsilon']), 'epsilon']);
  return reshapeSamples(w, w.op('Clip', [w.op('Add', [origin, delta]), 'low', 'high']), inputShape);
}
