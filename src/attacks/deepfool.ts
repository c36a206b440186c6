/**
 * DeepFool (Moosavi-Dezfooli et al. 2016), as Foolbox 3: at each step the model is linearised
 * around the current point for the `candidates` classes ranked highest at the start, and the
 * point moves to the nearest linearised boundary (logit difference z_k − z_y over the dual norm
 * of its gradient), accumulating steps scaled by 1 + overshoot. A minimization attack: it
 * returns, per sample, the adversarial it reached. A final bisection along the perturbation
 * (`refinementSteps` model queries, no gradients) pulls it back towards the boundary, which
 * removes most of the overshoot; `refinementSteps: 0` returns Foolbox's point exactly.
 */
import * as tf from '@tensorflow/tfjs-core';
import { NORM_SYMBOL } from '../norms.js';
import { defineAttack, type AttackContext } from './runner.js';
import { checkCriterion, checkInteger, checkKnownOptions, checkNorm, checkNumber, checkTarget } from './options.js';
import { clipToBounds, perSampleColumn, takeRows } from './steps.js';
import { bisectTowardsOriginal } from './refine.js';
import { Found } from './iterative.js';
import type { Attack, CriterionSpec } from './types.js';

export interface DeepFoolOptions {
  /** Default 'l2'. */
  norm?: 'l2' | 'linf';
  /** Maximum linearisation steps. Default 50. */
  steps?: number;
  /** Relative overshoot past each linearised boundary. Default 0.02. */
  overshoot?: number;
  /** Classes considered (the true one included), ranked by the clean logits. Default 10. */
  candidates?: number;
  /** Bisection steps towards the original along the final perturbation. Default 10. */
  refinementSteps?: number;
  /** Only misclassification: DeepFool stops at the first boundary crossed. */
  criterion?: CriterionSpec;
}

/** Foolbox 3's DeepFool defaults, plus the refinement. */
export const DEEPFOOL_DEFAULTS = { norm: 'l2', steps: 50, overshoot: 0.02, candidates: 10, refinementSteps: 10 } as const;

export function deepfool(options: DeepFoolOptions = {}): Attack {
  checkKnownOptions(options, ['norm', 'steps', 'overshoot', 'candidates', 'refinementSteps', 'criterion', 'target'], 'deepfool');
  const norm = checkNorm(options.norm ?? DEEPFOOL_DEFAULTS.norm, ['l2', 'linf'] as const, 'deepfool');
  const steps = checkInteger(options.steps ?? DEEPFOOL_DEFAULTS.steps, 'steps', 'deepfool', 1);
  const overshoot = checkNumber(options.overshoot ?? DEEPFOOL_DEFAULTS.overshoot, 'overshoot', 'deepfool', 0);
  const candidates = checkInteger(options.candidates ?? DEEPFOOL_DEFAULTS.candidates, 'candidates', 'deepfool', 2);
  const refinementSteps = checkInteger(options.refinementSteps ?? DEEPFOOL_DEFAULTS.refinementSteps, 'refinementSteps', 'deepfool', 0);
  const target = checkTarget((options as { target?: unknown }).target, 'deepfool');
  const criterion = checkCriterion(options.criterion, target, { targeted: false, topK: false }, 'deepfool');
  return defineAttack({
    name: 'DeepFool',
    norm,
    kind: 'minimization',
    requiresGradients: true,
    options: { norm, steps, overshoot, candidates, refinementSteps, criterion },
    describe: () => `DeepFool (${NORM_SYMBOL[norm]}, ≤ ${steps} steps, overshoot ${overshoot}, ${candidates} candidate classes)`,
    // One row per other candidate class, all linearised at once.
    rowsPerSample: () => candidates - 1,
    async perturb(ctx) {
      const found = await linearise(ctx, { norm, steps, overshoot, candidates });
      if (refinementSteps === 0) return found.tensor;
      const refined = await bisectTowardsOriginal(ctx, found.tensor, found.done.flatMap((d, i) => (d ? [i] : [])), refinementSteps);
      found.tensor.dispose();
      return refined;
    },
  });
}

async function linearise(ctx: AttackContext, o: { norm: 'l2' | 'linf'; steps: number; overshoot: number; candidates: number }): Promise<Found> {
  const found = new Found(ctx.x);
  const n = ctx.x.shape[0];
  const others = Math.min(o.candidates, ctx.numClasses) - 1;
  const clean = await ctx.logits(ctx.x);
  const z = clean.dataSync();
  clean.dispose();
  const width = ctx.numClasses;
  // Per sample: the other classes ranked by their clean logits, best first.
  const ranked = Array.from({ length: n }, (_, i) => {
    const label = ctx.labels[i]!;
    return [...Array(width).keys()]
      .filter((c) => c !== label)
      .sort((a, b) => z[i * width + b]! - z[i * width + a]! || a - b)
      .slice(0, others);
  });

  let rows = [...Array(n).keys()];
  let x = tf.clone(ctx.x);
  let x0 = tf.clone(ctx.x);
  let total = tf.zerosLike(ctx.x);
  for (let step = 0; step <= o.steps; step++) {
    const m = rows.length;
    // Row j·m + p of the tiled batch holds sample p, linearised for its j-th candidate class.
    const tiled = tf.tidy(() => tf.tile(x, [others, ...x.shape.slice(1).map(() => 1)]));
    const own = Int32Array.from({ length: others * m }, (_, r) => ctx.labels[rows[r % m]!]!);
    const cand = Int32Array.from({ length: others * m }, (_, r) => ranked[rows[r % m]!]![Math.floor(r / m)]!);
    const tiledRows = Array.from({ length: others * m }, (_, r) => rows[r % m]!);
    const last = step === o.steps;
    let adversarial: boolean[];
    let result: Awaited<ReturnType<AttackContext['gradient']>> | undefined;
    if (last) {
      tiled.dispose();
      const logits = await ctx.logits(x, rows);
      adversarial = ctx.isAdversarial(logits, rows);
      logits.dispose();
    } else {
      result = await ctx.gradient(tiled, logitDifference(own, cand), tiledRows);
      tiled.dispose();
      const first = tf.slice(result.logits, 0, m);
      adversarial = ctx.isAdversarial(first, rows);
      first.dispose();
    }
    found.record(rows, x, adversarial.flatMap((a, p) => (a ? [p] : [])));
    const keep = adversarial.flatMap((a, p) => (a ? [] : [p]));
    if (last || keep.length === 0) {
      if (result) tf.dispose([result.logits, result.loss, result.gradient]);
      break;
    }
    const { loss, gradient, logits } = result!;
    const losses = await loss.data();
    const norms = tf.tidy(() => {
      const flat = tf.reshape(gradient, [gradient.shape[0], -1]);
      return o.norm === 'l2' ? tf.norm(flat, 'euclidean', 1) : tf.sum(tf.abs(flat), 1);
    });
    const dualNorms = await norms.data();
    norms.dispose();
    // Nearest linearised boundary per remaining sample.
    const choice = keep.map((p) => {
      let best = 0;
      let bestDistance = Infinity;
      for (let j = 0; j < others; j++) {
        const r = j * m + p;
        const d = Math.abs(losses[r]!) / (dualNorms[r]! + 1e-8);
        if (d < bestDistance) {
          bestDistance = d;
          best = r;
        }
      }
      return { row: best, distance: bestDistance + 1e-4 };
    });
    const chosen = takeRows(gradient, choice.map((c) => c.row));
    tf.dispose([loss, gradient, logits]);
    if (keep.length < m) {
      const kept = [x0, total].map((t) => takeRows(t, keep));
      tf.dispose([x0, total]);
      [x0, total] = kept as [tf.Tensor, tf.Tensor];
      rows = keep.map((p) => rows[p]!);
    }
    const next = tf.tidy(() => {
      const stepTaken =
        o.norm === 'l2'
          ? tf.mul(chosen, perSampleColumn(choice.map((c) => c.distance / (dualNorms[c.row]! + 1e-8)), chosen))
          : tf.mul(tf.sign(chosen), perSampleColumn(choice.map((c) => c.distance), chosen));
      const sum = tf.add(total, stepTaken);
      return { sum, x: clipToBounds(tf.add(x0, tf.mul(sum, 1 + o.overshoot)), ctx.bounds) };
    });
    tf.dispose([chosen, total, x]);
    total = next.sum;
    x = next.x;
  }
  tf.dispose([x, x0, total]);
  return found;
}

function logitDifference(own: Int32Array, candidate: Int32Array) {
  return (logits: tf.Tensor2D) =>
    tf.tidy(() => {
      const width = logits.shape[1];
      const pickOf = (classes: Int32Array) => tf.sum(tf.mul(logits, tf.cast(tf.oneHot(tf.tensor1d(classes, 'int32'), width), 'float32')), 1);
      return tf.sub(pickOf(candidate), pickOf(own)) as tf.Tensor1D;
    });
}
