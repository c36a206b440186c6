/**
 * Pulling a found adversarial back towards the boundary: bisection on s ∈ [0, 1] for the
 * smallest x0 + s·(x_adv − x0) that is still adversarial. It costs model queries only, never
 * gradients, and can only shorten a perturbation. Points on the segment stay inside the box,
 * which is convex.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AttackContext } from './runner.js';
import { perSampleColumn, replaceRows, takeRows } from './steps.js';

/**
 * `candidates` with rows `rows` (adversarial) moved closer to the originals. `accept` decides
 * what still counts (default: the criterion; C&W also asks for its confidence margin).
 */
export async function bisectTowardsOriginal(
  ctx: AttackContext,
  candidates: tf.Tensor,
  rows: readonly number[],
  steps: number,
  accept: (logits: tf.Tensor2D, rows: readonly number[]) => boolean[] = (logits, r) => ctx.isAdversarial(logits, r),
): Promise<tf.Tensor> {
  if (rows.length === 0 || steps === 0) return tf.clone(candidates);
  const x0 = takeRows(ctx.x, rows);
  const adversarial = takeRows(candidates, rows);
  const delta = tf.sub(adversarial, x0);
  adversarial.dispose();
  const low = rows.map(() => 0);
  const high = rows.map(() => 1);
  for (let s = 0; s < steps; s++) {
    const middle = low.map((l, p) => (l + high[p]!) / 2);
    const point = tf.tidy(() => tf.add(x0, tf.mul(delta, perSampleColumn(middle, delta))));
    // On the runtime the final verdict is taken on, so that the point kept is adversarial there.
    const logits = await ctx.verdictLogits(point, rows);
    accept(logits, rows).forEach((a, p) => (a ? (high[p] = middle[p]!) : (low[p] = middle[p]!)));
    tf.dispose([point, logits]);
  }
  const refined = tf.tidy(() => replaceRows(candidates, rows, tf.add(x0, tf.mul(delta, perSampleColumn(high, delta)))));
  tf.dispose([x0, delta]);
  return refined;
}
