/**
 * Carlini & Wagner's L2 attack (2017), as Foolbox 3: minimise ‖x' − x‖₂² + c·max(0, κ − margin)
 * with Adam in tanh space (x' = tanh(w)·(high − low)/2 + (high + low)/2 stays inside the bounds
 * without clipping), and a per-sample binary search over c — ×10 until an adversarial is found,
 * then bisection — keeping the closest adversarial seen at any step. With abortEarly, a sample
 * stops optimising for the current c once its loss has improved by less than 0.01% over a tenth
 * of the steps. Foolbox applies that test to the batch's total loss; here it is per sample.
 * Finally, a bisection towards the original along the closest adversarial (model queries only)
 * removes what the Adam steps overshot; `refinementSteps: 0` returns Foolbox's point.
 *
 * Untargeted, the margin max_{j≠y} z_j − z_y follows whichever class leads at the start, which
 * need not have the nearest boundary. The adversarial region is the union over classes t ≠ y of
 * {z_t ≥ z_y}, so with `candidates` k > 1 the attack runs one search per class among the k
 * strongest others, each on the pairwise margin z_t − z_y, and keeps the closest adversarial
 * per sample: k times the gradient evaluations of one search.
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
import type { LossFn } from '../engine/gradient/types.js';
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
  /**
   * Untargeted misclassification only: how many of the other classes (strongest first) get a
   * search of their own on the pairwise margin z_t − z_y. 1 runs the single margin
   * max_{j≠y} z_j − z_y, as Foolbox. Default 1.
   */
  candidates?: number;
  /** Bisection steps towards the original along the closest adversarial found (queries only). Default 10. */
  refinementSteps?: number;
  target?: TargetSpec;
  criterion?: CriterionSpec;
  /** experimental */
  rank?: 'logits' | 'linear';
  decay?: boolean;
}

export const CARLINI_WAGNER_DEFAULTS = {
  binarySearchSteps: 9,
  steps: 1000,
  learningRate: 0.01,
  confidence: 0,
  initialConst: 0.001,
  abortEarly: true,
  candidates: 1,
  refinementSteps: 10,
} as const;

const KNOWN = ['binarySearchSteps', 'steps', 'learningRate', 'confidence', 'initialConst', 'abortEarly', 'candidates', 'refinementSteps', 'target', 'criterion', 'rank', 'decay', 'skipFirst', 'warmup', 'linearConst'];

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
    candidates: checkInteger(options.candidates ?? d.candidates, 'candidates', 'carliniWagner', 1),
    refinementSteps: checkInteger(options.refinementSteps ?? d.refinementSteps, 'refinementSteps', 'carliniWagner', 0),
    rank: options.rank ?? 'logits',
    decay: options.decay ?? false,
    skipFirst: (options as { skipFirst?: boolean }).skipFirst ?? false,
    warmup: (options as { warmup?: number }).warmup ?? 0,
    linearConst: (options as { linearConst?: number }).linearConst ?? 0,
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
      `C&W (L2, ${o.binarySearchSteps} × ${o.steps} Adam steps, lr ${o.learningRate}, κ ${o.confidence}${o.candidates > 1 ? `, ${o.candidates} candidate classes` : ''}${target !== undefined ? `, targeted: ${show(target)}` : ''})`,
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
  candidates: number;
  refinementSteps: number;
  rank: 'logits' | 'linear';
  decay: boolean;
  skipFirst: boolean;
  warmup: number;
  linearConst: number;
}

/**
 * The searches of one batch. Search v attacks batch sample `sample[v]`; with `towards` it
 * pushes class towards[v] above the label, otherwise it follows the criterion's margin.
 */
interface Searches {
  sample: number[];
  towards: Int32Array | null;
  initial?: Float64Array;
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;

async function attack(ctx: AttackContext, o: Settings): Promise<tf.Tensor> {
  const n = ctx.x.shape[0];
  const searches = await plan(ctx, o);
  const { best, bestNorm } = await search(ctx, o, searches);
  // The closest adversarial per sample over its searches.
  const winner = new Array<number>(n).fill(-1);
  searches.sample.forEach((i, v) => {
    if (bestNorm[v]! < (winner[i]! < 0 ? Infinity : bestNorm[winner[i]!]!)) winner[i] = v;
  });
  const found = [...winner.keys()].filter((i) => winner[i]! >= 0);
  const closest = tf.tidy(() => (found.length > 0 ? replaceRows(ctx.x, found, takeRows(best, found.map((i) => winner[i]!))) : tf.clone(ctx.x)));
  best.dispose();
  const confident = (logits: tf.Tensor2D, rows: readonly number[]) => {
    const margins = criterionMargins(logits.dataSync(), logits.shape[1], ctx.criterion, pick(ctx.labels, rows), ctx.targets && pick(ctx.targets, rows));
    return ctx.isAdversarial(logits, rows).map((a, p) => a && margins[p]! >= o.confidence);
  };
  const refined = await bisectTowardsOriginal(ctx, closest, found, o.refinementSteps, confident);
  closest.dispose();
  return refined;
}

/** One search per sample, or one per candidate class for an untargeted run with candidates > 1. */
async function plan(ctx: AttackContext, o: Settings): Promise<Searches> {
  const n = ctx.x.shape[0];
  const others = Math.min(o.candidates, ctx.numClasses - 1);
  if (ctx.criterion.kind !== 'misclassification' || others < 2) return { sample: [...Array(n).keys()], towards: null };
  const width = ctx.numClasses;
  const { score, critical } = await rankScores(ctx, o);
  const sample: number[] = [];
  const towards: number[] = [];
  const initial: number[] = [];
  for (let j = 0; j < others; j++) {
    for (let i = 0; i < n; i++) {
      const label = ctx.labels[i]!;
      const ranked = [...Array(width).keys()].filter((c) => c !== label).sort((a, b) => score[i * width + b]! - score[i * width + a]! || a - b);
      sample.push(i);
      towards.push(ranked[j]!);
      initial.push(o.linearConst > 0 && critical ? critical[i * width + ranked[j]!]! * o.linearConst : o.initialConst);
    }
  }
  return { sample, towards: Int32Array.from(towards), initial: Float64Array.from(initial) };
}

async function rankScores(ctx: AttackContext, o: Settings): Promise<{ score: Float64Array; critical: Float64Array | null }> {
  const n = ctx.x.shape[0];
  const width = ctx.numClasses;
  const clean = await ctx.logits(ctx.x);
  const z = Float64Array.from(clean.dataSync());
  clean.dispose();
  if (o.rank === 'logits') return { score: z, critical: null };
  const critical = new Float64Array(n * width);
  // Negative linearised distance |z_y − z_t| / ‖∇(z_t − z_y)‖.
  const out = new Float64Array(n * width).fill(-Infinity);
  const rows: number[] = [];
  const own: number[] = [];
  const cand: number[] = [];
  for (let c = 0; c < width; c++) for (let i = 0; i < n; i++) if (c !== ctx.labels[i]) (rows.push(i), own.push(ctx.labels[i]!), cand.push(c));
  const tiled = takeRows(ctx.x, rows);
  const loss = pairwiseMargin(Int32Array.from(own), Int32Array.from(cand));
  const result = await ctx.gradient(tiled, loss, rows);
  const norms = tf.tidy(() => tf.norm(tf.reshape(result.gradient, [rows.length, -1]), 'euclidean', 1));
  const g = await norms.data();
  const m = await result.loss.data();
  tf.dispose([tiled, norms, result.gradient, result.loss, result.logits]);
  if (process.env.CWDEBUG) console.log('critical c', [...m].map((mm, r) => (2 * Math.max(-mm, 1e-6)) / g[r]! ** 2).sort((a, b) => a - b).filter((_, j, a) => j % Math.floor(a.length / 8) === 0).map((c) => c.toExponential(2)).join(' '));
  rows.forEach((i, r) => {
    out[i * width + cand[r]!] = -Math.abs(m[r]!) / (g[r]! + 1e-12);
    critical[i * width + cand[r]!] = (2 * Math.max(o.confidence - m[r]!, 1e-6)) / (g[r]! ** 2 + 1e-12);
  });
  return { score: out, critical };
}

/** z_t − z_y per row. */
function pairwiseMargin(labels: Int32Array, towards: Int32Array): LossFn {
  return (logits) =>
    tf.tidy(() => {
      const width = logits.shape[1];
      const mask = (classes: Int32Array) => tf.cast(tf.oneHot(tf.tensor1d(classes, 'int32'), width), 'float32');
      return tf.sum(tf.mul(logits, tf.sub(mask(towards), mask(labels))), 1) as tf.Tensor1D;
    });
}

/** The C&W binary search over c for every search; the closest adversarial per search. */
async function search(ctx: AttackContext, o: Settings, searches: Searches): Promise<{ best: tf.Tensor; bestNorm: Float64Array }> {
  const total = searches.sample.length;
  const [low, high] = ctx.bounds;
  const centre = (high + low) / 2;
  const half = (high - low) / 2;
  const k = ctx.criterion.kind === 'top-k' ? ctx.criterion.k : 1;
  const toModel = (w: tf.Tensor) => tf.add(tf.mul(tf.tanh(w), half), centre);
  const x = takeRows(ctx.x, searches.sample);
  // 0.999999 keeps points on the bounds at a finite arctanh.
  const wClean = tf.tidy(() => tf.atanh(tf.mul(tf.div(tf.sub(x, centre), half), 0.999999)));
  const reconstructed = tf.tidy(() => toModel(wClean));
  const samplesOf = (vs: readonly number[]) => vs.map((v) => searches.sample[v]!);
  const marginOf = (vs: readonly number[]): LossFn => {
    const labels = pick(ctx.labels, samplesOf(vs));
    return searches.towards ? pairwiseMargin(labels, pick(searches.towards, vs)) : criterionMargin(labels, ctx.targets && pick(ctx.targets, samplesOf(vs)), k);
  };

  let best = tf.clone(x);
  const bestNorm = new Float64Array(total).fill(Infinity);
  let consts = searches.initial ? Float64Array.from(searches.initial) : new Float64Array(total).fill(o.initialConst);
  const lower = new Float64Array(total);
  const upper = new Float64Array(total).fill(Infinity);
  const checkEvery = Math.ceil(o.steps / 10);

  for (let round = 0; round < o.binarySearchSteps; round++) {
    if (round === o.binarySearchSteps - 1 && o.binarySearchSteps >= 10) consts = consts.map((_, v) => Math.min(upper[v]!, 1e10));
    const foundThisRound = new Array<boolean>(total).fill(false);
    const previous = new Float64Array(total).fill(Infinity);
    let rows = [...Array(total).keys()];
    let w = tf.clone(wClean);
    let m = tf.zerosLike(w);
    let v = tf.zerosLike(w);
    let origin = tf.clone(x);
    let rec = tf.clone(reconstructed);

    let stepsRun = 0;
    for (let step = 0; step < o.steps && rows.length > 0; step++) {
      stepsRun += rows.length;
      const c = Float32Array.from(rows, (r) => consts[r]!);
      const xm = tf.tidy(() => toModel(w));
      const margin = marginOf(rows);
      const hinge = (logits: tf.Tensor2D) => tf.tidy(() => tf.mul(tf.relu(tf.sub(o.confidence, margin(logits))), tf.tensor1d(c))) as tf.Tensor1D;
      const { gradient, logits, loss } = await ctx.gradient(xm, hinge, samplesOf(rows));
      const [squared, distance] = tf.tidy(() => {
        const flat = (t: tf.Tensor) => tf.reshape(t, [t.shape[0], -1]);
        return [tf.sum(tf.square(flat(tf.sub(xm, rec))), 1), tf.norm(flat(tf.sub(xm, origin)), 'euclidean', 1)];
      });
      const squares = await squared!.data();
      const objective = Array.from(await loss.data(), (h, p) => h + squares[p]!);
      const norms = await distance!.data();

      // Adam on w; the distance term's gradient is added to the model's in input space.
      const t = step + 1;
      let rate = o.decay ? o.learningRate * (0.5 + 0.5 * Math.cos((Math.PI * step) / o.steps)) : o.learningRate;
      if (o.warmup > 0) rate *= Math.min(1, (step + 1) / (o.warmup * o.steps));
      const next = tf.tidy(() => {
        const inputGradient = tf.add(gradient, tf.mul(tf.sub(xm, rec), 2));
        const g = tf.mul(inputGradient, tf.mul(tf.sub(1, tf.square(tf.tanh(w))), half));
        const m1 = tf.add(tf.mul(m, BETA1), tf.mul(g, 1 - BETA1));
        const v1 = tf.add(tf.mul(v, BETA2), tf.mul(tf.square(g), 1 - BETA2));
        const mHat = tf.div(m1, 1 - BETA1 ** t);
        const vHat = tf.div(v1, 1 - BETA2 ** t);
        return { w: tf.sub(w, tf.div(tf.mul(mHat, rate), tf.add(tf.sqrt(vHat), ADAM_EPSILON))), m: m1, v: v1 };
      });
      tf.dispose([w, m, v, gradient, loss, squared!, distance!]);
      ({ w, m, v } = next);

      // Foolbox's order: a search that aborts at a check does not record this step's point.
      const stopped = rows.map((r, p) => {
        if (!o.abortEarly || step % checkEvery !== 0 || (o.skipFirst && step === 0)) return false;
        if (!(objective[p]! <= 0.9999 * previous[r]!)) return true;
        previous[r] = objective[p]!;
        return false;
      });
      const sampleRows = samplesOf(rows);
      const adversarial = ctx.isAdversarial(logits, sampleRows);
      const margins =
        o.confidence > 0 ? criterionMargins(logits.dataSync(), logits.shape[1], ctx.criterion, pick(ctx.labels, sampleRows), ctx.targets && pick(ctx.targets, sampleRows)) : null;
      logits.dispose();
      const closer: number[] = [];
      rows.forEach((r, p) => {
        if (stopped[p] || !adversarial[p] || (margins && margins[p]! < o.confidence)) return;
        foundThisRound[r] = true;
        if (norms[p]! < bestNorm[r]!) {
          bestNorm[r] = norms[p]!;
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
    if (process.env.CWDEBUG) console.log(`round ${round}: steps ${stepsRun}, found ${foundThisRound.filter(Boolean).length}/${total}, consts median ${[...consts].sort((a, b) => a - b)[total >> 1]!.toExponential(2)}, best median ${[...bestNorm].sort((a, b) => a - b)[total >> 1]!.toFixed(4)}`);

    for (let r = 0; r < total; r++) {
      if (foundThisRound[r]) upper[r] = consts[r]!;
      else lower[r] = consts[r]!;
      consts[r] = upper[r] === Infinity ? consts[r]! * 10 : (lower[r]! + upper[r]!) / 2;
    }
  }
  tf.dispose([x, wClean, reconstructed]);
  return { best, bestNorm };
}
