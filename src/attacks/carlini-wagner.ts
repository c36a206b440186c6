/**
 * Carlini & Wagner's L2 attack (2017), as Foolbox 3: minimise ‖x' − x‖₂² + c·max(0, κ − margin)
 * with Adam in tanh space (x' = tanh(w)·(high − low)/2 + (high + low)/2 stays inside the bounds
 * without clipping), and a per-sample binary search over c — ×10 until an adversarial is found,
 * then bisection — keeping the closest adversarial seen at any step. With abortEarly, a sample
 * stops optimising for the current c once its loss has improved by less than 0.01% over a tenth
 * of the steps. Foolbox applies that test to the batch's total loss; here it is per sample.
 * Finally, a bisection towards the original along the closest adversarial (model queries only)
 * removes what the Adam steps overshot; `refinementSteps: 0` returns Foolbox's point.
 */
import * as tf from '@tensorflow/tfjs-core';
import { show } from '../errors.js';
import { defineAttack, type AttackContext } from './runner.js';
import { criterionMargin } from './losses.js';
import { criterionMargins } from './criteria.js';
import { checkBoolean, checkCriterion, checkInteger, checkKnownOptions, checkNumber, checkTarget } from './options.js';
import { replaceRows, takeRows } from './steps.js';
import { bisectTowardsOriginal } from './refine.js';
import { pick } from './pgd.js';
import type { Attack, CriterionSpec, TargetSpec } from './types.js';

export interface CarliniWagnerOptions {
  /** Rounds of the search over c. Default 9. */
  binarySearchSteps?: number;
  /** Adam steps per round. Default 1000 (Foolbox: 10,000; abort-early ends most rounds far sooner). */
  steps?: number;
  /** Adam step size in tanh space. Default 0.01. */
  learningRate?: number;
  /** Margin κ an adversarial must reach. Default 0. */
  confidence?: number;
  /** First c. Default 0.001. */
  initialConst?: number;
  /** Stop a round for a sample whose loss stalls. Default true. */
  abortEarly?: boolean;
  /** Bisection steps towards the original along the closest adversarial found (queries only). Default 10. */
  refinementSteps?: number;
  target?: TargetSpec;
  criterion?: CriterionSpec;
}

export const CARLINI_WAGNER_DEFAULTS = {
  binarySearchSteps: 9,
  steps: 1000,
  learningRate: 0.01,
  confidence: 0,
  initialConst: 0.001,
  abortEarly: true,
  refinementSteps: 10,
} as const;

const KNOWN = ['binarySearchSteps', 'steps', 'learningRate', 'confidence', 'initialConst', 'abortEarly', 'refinementSteps', 'target', 'criterion'];

export function carliniWagner(options: CarliniWagnerOptions = {}): Attack {
  checkKnownOptions(options, KNOWN, 'carliniWagner');
  const d = CARLINI_WAGNER_DEFAULTS;
  const o = {
    binarySearchSteps: checkInteger(options.binarySearchSteps ?? d.binarySearchSteps, 'binarySearchSteps', 'carliniWagner', 1),
    steps: checkInteger(options.steps ?? d.steps, 'steps', 'carliniWagner', 1),
    learningRate: checkNumber(options.learningRate ?? d.learningRate, 'learningRate', 'carliniWagner', 0, Infinity, true),
    confidence: checkNumber(options.confidence ?? d.confidence, 'confidence', 'carliniWagner', 0),
    initialConst: checkNumber(options.initialConst ?? d.initialConst, 'initialConst', 'carliniWagner', 0, Infinity, true),
    abortEarly: checkBoolean(options.abortEarly ?? d.abortEarly, 'abortEarly', 'carliniWagner'),
    refinementSteps: checkInteger(options.refinementSteps ?? d.refinementSteps, 'refinementSteps', 'carliniWagner', 0),
  };
  const target = checkTarget(options.target, 'carliniWagner');
  const criterion = checkCriterion(options.criterion, target, { targeted: true, topK: true }, 'carliniWagner');
  return defineAttack({
    name: 'C&W',
    norm: 'l2',
    kind: 'minimization',
    requiresGradients: true,
    options: { ...o, target, criterion },
    describe: () =>
      `C&W (L2, ${o.binarySearchSteps} × ${o.steps} Adam steps, lr ${o.learningRate}, κ ${o.confidence}${target !== undefined ? `, targeted: ${show(target)}` : ''})`,
    perturb: (ctx) => attack(ctx, o),
  });
}

interface Settings {
  binarySearchSteps: number;
  steps: number;
  learningRate: number;
  confidence: number;
  initialConst: number;
  abortEarly: boolean;
  refinementSteps: number;
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;

async function attack(ctx: AttackContext, o: Settings): Promise<tf.Tensor> {
  const n = ctx.x.shape[0];
  const [low, high] = ctx.bounds;
  const centre = (high + low) / 2;
  const half = (high - low) / 2;
  const k = ctx.criterion.kind === 'top-k' ? ctx.criterion.k : 1;
  const toModel = (w: tf.Tensor) => tf.add(tf.mul(tf.tanh(w), half), centre);
  // 0.999999 keeps points on the bounds at a finite arctanh.
  const wClean = tf.tidy(() => tf.atanh(tf.mul(tf.div(tf.sub(ctx.x, centre), half), 0.999999)));
  const reconstructed = tf.tidy(() => toModel(wClean));

  let best = tf.clone(ctx.x);
  const bestNorm = new Float64Array(n).fill(Infinity);
  let consts = new Float64Array(n).fill(o.initialConst);
  const lower = new Float64Array(n);
  const upper = new Float64Array(n).fill(Infinity);
  const checkEvery = Math.ceil(o.steps / 10);

  for (let round = 0; round < o.binarySearchSteps; round++) {
    if (round === o.binarySearchSteps - 1 && o.binarySearchSteps >= 10) consts = consts.map((_, i) => Math.min(upper[i]!, 1e10));
    const foundThisRound = new Array<boolean>(n).fill(false);
    const previous = new Float64Array(n).fill(Infinity);
    let rows = [...Array(n).keys()];
    let w = tf.clone(wClean);
    let m = tf.zerosLike(w);
    let v = tf.zerosLike(w);
    let origin = tf.clone(ctx.x);
    let rec = tf.clone(reconstructed);

    for (let step = 0; step < o.steps && rows.length > 0; step++) {
      const c = Float32Array.from(rows, (i) => consts[i]!);
      const xm = tf.tidy(() => toModel(w));
      const margin = criterionMargin(pick(ctx.labels, rows), ctx.targets && pick(ctx.targets, rows), k);
      const hinge = (logits: tf.Tensor2D) => tf.tidy(() => tf.mul(tf.relu(tf.sub(o.confidence, margin(logits))), tf.tensor1d(c))) as tf.Tensor1D;
      const { gradient, logits, loss } = await ctx.gradient(xm, hinge, rows);
      const [squared, distance] = tf.tidy(() => {
        const flat = (t: tf.Tensor) => tf.reshape(t, [t.shape[0], -1]);
        return [tf.sum(tf.square(flat(tf.sub(xm, rec))), 1), tf.norm(flat(tf.sub(xm, origin)), 'euclidean', 1)];
      });
      const squares = await squared!.data();
      const total = Array.from(await loss.data(), (h, p) => h + squares[p]!);
      const norms = await distance!.data();

      // Adam on w; the distance term's gradient is added to the model's in input space.
      const t = step + 1;
      const next = tf.tidy(() => {
        const inputGradient = tf.add(gradient, tf.mul(tf.sub(xm, rec), 2));
        const g = tf.mul(inputGradient, tf.mul(tf.sub(1, tf.square(tf.tanh(w))), half));
        const m1 = tf.add(tf.mul(m, BETA1), tf.mul(g, 1 - BETA1));
        const v1 = tf.add(tf.mul(v, BETA2), tf.mul(tf.square(g), 1 - BETA2));
        const mHat = tf.div(m1, 1 - BETA1 ** t);
        const vHat = tf.div(v1, 1 - BETA2 ** t);
        return { w: tf.sub(w, tf.div(tf.mul(mHat, o.learningRate), tf.add(tf.sqrt(vHat), ADAM_EPSILON))), m: m1, v: v1 };
      });
      tf.dispose([w, m, v, gradient, loss, squared!, distance!]);
      ({ w, m, v } = next);

      // Foolbox's order: a sample that aborts at a check does not record this step's point.
      const stopped = rows.map((i, p) => {
        if (!o.abortEarly || step % checkEvery !== 0) return false;
        if (!(total[p]! <= 0.9999 * previous[i]!)) return true;
        previous[i] = total[p]!;
        return false;
      });
      const adversarial = ctx.isAdversarial(logits, rows);
      const margins = o.confidence > 0 ? criterionMargins(logits.dataSync(), logits.shape[1], ctx.criterion, pick(ctx.labels, rows), ctx.targets && pick(ctx.targets, rows)) : null;
      logits.dispose();
      const closer: number[] = [];
      rows.forEach((i, p) => {
        if (stopped[p] || !adversarial[p] || (margins && margins[p]! < o.confidence)) return;
        foundThisRound[i] = true;
        if (norms[p]! < bestNorm[i]!) {
          bestNorm[i] = norms[p]!;
          closer.push(p);
        }
      });
      if (closer.length > 0) {
        const values = takeRows(xm, closer);
        const updated = replaceRows(best, closer.map((p) => rows[p]!), values);
        tf.dispose([values, best]);
        best = updated;
      }
      xm.dispose();
      if (stopped.some(Boolean)) {
        const keep = stopped.flatMap((s, p) => (s ? [] : [p]));
        const kept = [w, m, v, origin, rec].map((tensor) => takeRows(tensor, keep));
        tf.dispose([w, m, v, origin, rec]);
        [w, m, v, origin, rec] = kept as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
        rows = keep.map((p) => rows[p]!);
      }
    }
    tf.dispose([w, m, v, origin, rec]);

    for (let i = 0; i < n; i++) {
      if (foundThisRound[i]) upper[i] = consts[i]!;
      else lower[i] = consts[i]!;
      consts[i] = upper[i] === Infinity ? consts[i]! * 10 : (lower[i]! + upper[i]!) / 2;
    }
  }
  tf.dispose([wClean, reconstructed]);
  const found = [...bestNorm.keys()].filter((i) => bestNorm[i]! < Infinity);
  const confident = (logits: tf.Tensor2D, rows: readonly number[]) => {
    const margins = criterionMargins(logits.dataSync(), logits.shape[1], ctx.criterion, pick(ctx.labels, rows), ctx.targets && pick(ctx.targets, rows));
    return ctx.isAdversarial(logits, rows).map((a, p) => a && margins[p]! >= o.confidence);
  };
  const refined = await bisectTowardsOriginal(ctx, best, found, o.refinementSteps, confident);
  best.dispose();
  return refined;
}

