/**
 * Pulling a found adversarial back towards the boundary: bisection on s ∈ [0, 1] for the
 * smallest x0 + s·(x_adv − x0) that is still adversarial. It costs model queries only, never
 * gradients, and can only shorten a perturbation. Points on the segment stay inside the box,
 * which is convex.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AttackContext } from './runner.js';
import { clipToBounds, perSampleColumn, replaceRows, takeRows } from './steps.js';
import { verdictsElsewhere } from '../model/classifier.js';

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
  // Points past the candidate (s > 1) may leave the box; up to s = 1 the clip changes nothing.
  const along = (s: readonly number[]) => tf.tidy(() => clipToBounds(tf.add(x0, tf.mul(delta, perSampleColumn(s, delta))), ctx.bounds));
  const { low, high } = verdictsElsewhere(ctx.clf) ? await crossOnVerdictRuntime(ctx, rows, along, accept) : { low: rows.map(() => 0), high: rows.map(() => 1) };
  for (let s = 0; s < steps; s++) {
    const middle = low.map((l, p) => (l + high[p]!) / 2);
    const point = along(middle);
    // On the runtime the final verdict is taken on, so that the point kept is adversarial there.
    const logits = await ctx.verdictLogits(point, rows);
    accept(logits, rows).forEach((a, p) => (a ? (high[p] = middle[p]!) : (low[p] = middle[p]!)));
    tf.dispose([point, logits]);
  }
  const ends = along(high);
  const refined = replaceRows(candidates, rows, ends);
  tf.dispose([x0, delta, ends]);
  return refined;
}

/** Scale factors tried past a candidate that the verdict runtime does not accept. */
const PAST = [1, 1 + 1e-4, 1 + 1e-3, 1 + 1e-2, 1 + 1e-1];

/**
 * The bisection's starting bracket when another executor found the candidates: one it left right
 * on the decision boundary can sit on the other side in the model's own runtime, whose last bits
 * differ. Such a candidate is pushed out along its ray by the smallest factor of PAST that the
 * verdict runtime accepts; one no factor carries over keeps [0, 1] and fails the runner's check.
 */
async function crossOnVerdictRuntime(
  ctx: AttackContext,
  rows: readonly number[],
  along: (s: readonly number[]) => tf.Tensor,
  accept: (logits: tf.Tensor2D, rows: readonly number[]) => boolean[],
): Promise<{ low: number[]; high: number[] }> {
  const low = rows.map(() => 0);
  const high = rows.map(() => 1);
  let pending = [...rows.keys()];
  for (let k = 0; k < PAST.length && pending.length > 0; k++) {
    const scale = rows.map(() => PAST[k]!);
    const all = along(scale);
    const point = takeRows(all, pending);
    all.dispose();
    const logits = await ctx.verdictLogits(point, pending.map((p) => rows[p]!));
    const accepted = accept(logits, pending.map((p) => rows[p]!));
    tf.dispose([point, logits]);
    pending = pending.filter((p, j) => {
      if (!accepted[j]) return true;
      [low[p], high[p]] = [k === 0 ? 0 : PAST[k - 1]!, PAST[k]!];
      return false;
    });
  }
  return { low, high };
}
