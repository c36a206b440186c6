/**
 * Carlini & Wagner's L2 attack (2017), after Foolbox 3: minimise ‖x' − x‖₂² + c·max(0, κ − margin)
 * with Adam in tanh space (x' = tanh(w)·(high − low)/2 + (high + low)/2 stays inside the bounds
 * without clipping), and a binary search over c per search — ×10 until an adversarial is found,
 * then bisection — keeping the closest adversarial seen at any step. With abortEarly, a search
 * stops for the current c once its loss has improved by less than 0.01% over a tenth of the
 * steps (Foolbox tests the batch's total loss; here each search is tested on its own). A final
 * bisection towards the original along the closest adversarial (queries only) removes what the
 * Adam steps overshot.
 *
 * Departures from Foolbox, each measured on the bundled MNIST models (see the README):
 * - Untargeted, the margin max_{j≠y} z_j − z_y follows whichever class leads at the start, which
 *   need not have the nearest boundary. The adversarial region is the union over t ≠ y of
 *   {z_t ≥ z_y}, so by default each sample gets one search per candidate class t on the pairwise
 *   margin z_t − z_y, and the closest adversarial over them wins. Candidates are the classes whose
 *   boundary is nearest to x to first order, |z_t − z_y| / ‖∇(z_t − z_y)‖, and a search whose
 *   closest adversarial is more than 5% farther than its sample's closest stops after the round.
 * - c starts per search at twice the c at which the linearised problem's minimiser reaches the
 *   margin κ: 2·(κ − margin(x)) / ‖∇margin(x)‖². A fixed start wastes rounds on c far too small.
 * - Each round's step size warms up linearly over its first tenth, then follows a cosine to zero.
 *   Adam's first step moves every coordinate by the full step size whatever the gradient's scale,
 *   which overshoots samples that lie close to a boundary; the decay settles onto the boundary.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show } from '../errors.js';
import { defineAttack, pick, type AttackContext } from './runner.js';
import { criterionMargin } from './losses.js';
import { criterionMargins } from './criteria.js';
import { checkBoolean, checkChoice, checkCriterion, checkInteger, checkKnownOptions, checkNumber, checkTarget } from './options.js';
import { replaceRows, takeRows } from './steps.js';
import { bisectTowardsOriginal } from './refine.js';
import type { LossFn } from '../engine/tfjs/types.js';
import type { Attack, CriterionSpec, TargetSpec } from './types.js';

export interface CarliniWagnerOptions {
  /** Rounds of the search over c. Default 5 (Foolbox: 9, from c = 0.001). */
  binarySearchSteps?: number;
  /** Adam steps per round. Default 300 (Foolbox: 10,000; abort-early ends most rounds far sooner). */
  steps?: number;
  /** Adam's peak step size in tanh space. Default 0.1 (Foolbox: 0.01). */
  learningRate?: number;
  /** 'cosine': linear warm-up over a tenth of each round, then a cosine to zero. 'constant': Foolbox's. Default 'cosine'. */
  schedule?: 'cosine' | 'constant';
  /** Margin κ an adversarial must reach. Default 0. */
  confidence?: number;
  /** First c: a number, or 'linearised' (per search, twice the linearised problem's critical c). Default 'linearised'. */
  initialConst?: number | 'linearised';
  /** Stop a round for a search whose loss stalls. Default true. */
  abortEarly?: boolean;
  /**
   * Untargeted misclassification only: the number of classes that get a search of their own on
   * the pairwise margin z_t − z_y, nearest linearised boundary first. 1 runs Foolbox's single
   * margin max_{j≠y} z_j − z_y. Default 5.
   */
  candidates?: number;
  /** Bisection steps towards the original along the closest adversarial found (queries only). Default 10. */
  refinementSteps?: number;
  target?: TargetSpec;
  criterion?: CriterionSpec;
}

export const CARLINI_WAGNER_DEFAULTS = {
  binarySearchSteps: 5,
  steps: 300,
  learningRate: 0.1,
  schedule: 'cosine',
  confidence: 0,
  initialConst: 'linearised',
  abortEarly: true,
  candidates: 5,
  refinementSteps: 10,
} as const;

const KNOWN = ['binarySearchSteps', 'steps', 'learningRate', 'schedule', 'confidence', 'initialConst', 'abortEarly', 'candidates', 'refinementSteps', 'target', 'criterion'];

/** Classes ranked by their linearised boundary, at most: the strongest others by clean logit. */
const RANKED_CLASSES = 9;
/** A search this much farther than its sample's closest adversarial is dropped. */
const PRUNE_SLACK = 0.05;
/** The linearised critical c is multiplied by this to start on the adversarial side. */
const LINEARISED_FACTOR = 2;
/** Foolbox's first c, used where the linearisation says nothing (zero gradient). */
const FALLBACK_CONST = 0.001;
const WARMUP_FRACTION = 0.1;
/** Input values per search tensor (one row per search); larger batches are attacked in groups. */
const MAX_SEARCH_VALUES = 1 << 23;

export function carliniWagner(options: CarliniWagnerOptions = {}): Attack {
  checkKnownOptions(options, KNOWN, 'carliniWagner');
  const d = CARLINI_WAGNER_DEFAULTS;
  const initial = options.initialConst ?? d.initialConst;
  const o: Settings = {
    binarySearchSteps: checkInteger(options.binarySearchSteps ?? d.binarySearchSteps, 'binarySearchSteps', 'carliniWagner', 1),
    steps: checkInteger(options.steps ?? d.steps, 'steps', 'carliniWagner', 1),
    learningRate: checkNumber(options.learningRate ?? d.learningRate, 'learningRate', 'carliniWagner', 0, Infinity, true),
    schedule: checkChoice(options.schedule ?? d.schedule, ['cosine', 'constant'] as const, 'schedule', 'carliniWagner'),
    confidence: checkNumber(options.confidence ?? d.confidence, 'confidence', 'carliniWagner', 0),
    initialConst: initial === 'linearised' ? initial : checkInitialConst(initial),
    abortEarly: checkBoolean(options.abortEarly ?? d.abortEarly, 'abortEarly', 'carliniWagner'),
    candidates: checkInteger(options.candidates ?? d.candidates, 'candidates', 'carliniWagner', 1),
    refinementSteps: checkInteger(options.refinementSteps ?? d.refinementSteps, 'refinementSteps', 'carliniWagner', 0),
  };
  const target = checkTarget(options.target, 'carliniWagner');
  const criterion = checkCriterion(options.criterion, target, { targeted: true, topK: true }, 'carliniWagner');
  const pairwise = target === undefined && (criterion === undefined || criterion.kind === 'misclassification') && o.candidates > 1;
  return defineAttack({
    name: 'C&W',
    norm: 'l2',
    kind: 'minimization',
    requiresGradients: true,
    options: { ...o, target, criterion },
    describe: () =>
      `C&W (L2, ${o.binarySearchSteps} × ${o.steps} Adam steps, lr ${o.learningRate}${o.schedule === 'cosine' ? ' cosine' : ''}, κ ${o.confidence}` +
      `${pairwise ? `, ${o.candidates} candidate classes` : ''}${target !== undefined ? `, targeted: ${show(target)}` : ''})`,
    // Pairwise searches run one row per candidate class (at most RANKED_CLASSES of them ranked).
    rowsPerSample: () => (pairwise ? Math.max(RANKED_CLASSES, o.candidates) : 1),
    perturb: (ctx) => attack(ctx, o),
  });
}

function checkInitialConst(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
  throw new RobustestError('INVALID_OPTION', 'carliniWagner(): `initialConst` must be a finite number > 0 or \'linearised\'.', {
    expected: "a number > 0 or 'linearised'",
    received: show(value),
  });
}

interface Settings {
  binarySearchSteps: number;
  steps: number;
  learningRate: number;
  schedule: 'cosine' | 'constant';
  confidence: number;
  initialConst: number | 'linearised';
  abortEarly: boolean;
  candidates: number;
  refinementSteps: number;
}

/**
 * The searches of one batch. Search v attacks batch sample `sample[v]`, starting from c =
 * `initialConst[v]`; with `towards` it pushes class towards[v] above the label, otherwise it
 * follows the criterion's margin.
 */
interface Searches {
  sample: number[];
  towards: Int32Array | null;
  initialConst: Float64Array;
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const ADAM_EPSILON = 1e-8;

async function attack(ctx: AttackContext, o: Settings): Promise<tf.Tensor> {
  const n = ctx.x.shape[0];
  const pairwise = ctx.criterion.kind === 'misclassification' && Math.min(o.candidates, ctx.numClasses - 1) > 1;
  // Samples are attacked in groups small enough that their searches' tensors stay bounded.
  const rowsPerSample = pairwise ? Math.min(ctx.numClasses - 1, Math.max(RANKED_CLASSES, o.candidates)) : 1;
  const groupSize = Math.max(1, Math.floor(MAX_SEARCH_VALUES / ((ctx.x.size / n) * rowsPerSample)));
  let closest = tf.clone(ctx.x);
  const found: number[] = [];
  for (let start = 0; start < n; start += groupSize) {
    const group = Array.from({ length: Math.min(groupSize, n - start) }, (_, p) => start + p);
    const searches = pairwise ? await pairwiseSearches(ctx, o, group) : await singleSearches(ctx, o, group);
    const { best, bestNorm } = await search(ctx, o, searches);
    const winner = new Map<number, number>();
    searches.sample.forEach((i, v) => {
      const current = winner.get(i);
      if (bestNorm[v]! < (current === undefined ? Infinity : bestNorm[current]!)) winner.set(i, v);
    });
    const won = [...winner.keys()].sort((a, b) => a - b);
    if (won.length > 0) {
      const values = takeRows(best, won.map((i) => winner.get(i)!));
      const updated = replaceRows(closest, won, values);
      tf.dispose([values, closest]);
      closest = updated;
      found.push(...won);
    }
    best.dispose();
  }
  const confident = (logits: tf.Tensor2D, rows: readonly number[]) => {
    const margins = criterionMargins(logits.dataSync(), logits.shape[1], ctx.criterion, pick(ctx.labels, rows), ctx.targets && pick(ctx.targets, rows));
    return ctx.isAdversarial(logits, rows).map((a, p) => a && margins[p]! >= o.confidence);
  };
  const refined = await bisectTowardsOriginal(ctx, closest, found, o.refinementSteps, confident);
  closest.dispose();
  return refined;
}

/** One search per sample of `group` on the criterion's margin (targeted, top-k, or candidates: 1). */
async function singleSearches(ctx: AttackContext, o: Settings, group: number[]): Promise<Searches> {
  if (o.initialConst !== 'linearised') return { sample: group, towards: null, initialConst: new Float64Array(group.length).fill(o.initialConst) };
  const k = ctx.criterion.kind === 'top-k' ? ctx.criterion.k : 1;
  const x = takeRows(ctx.x, group);
  const { margin, gradientNorm } = await linearise(ctx, x, criterionMargin(pick(ctx.labels, group), ctx.targets && pick(ctx.targets, group), k), group);
  x.dispose();
  return { sample: group, towards: null, initialConst: Float64Array.from(group, (_, p) => criticalConst(margin[p]!, gradientNorm[p]!, o.confidence)) };
}

/**
 * Per sample of `group`, one search for each of the `candidates` classes with the nearest
 * linearised boundary, among the RANKED_CLASSES strongest other classes by clean logit (which
 * bounds the ranking's cost to that many gradients per sample). Searches are grouped by rank,
 * so the nearest candidates of all samples come first.
 */
async function pairwiseSearches(ctx: AttackContext, o: Settings, group: number[]): Promise<Searches> {
  const n = group.length;
  const width = ctx.numClasses;
  const pool = Math.min(width - 1, Math.max(RANKED_CLASSES, o.candidates));
  const x = takeRows(ctx.x, group);
  const clean = await ctx.logits(x, group);
  x.dispose();
  const z = clean.dataSync();
  clean.dispose();
  const strongest = group.map((i, p) =>
    [...Array(width).keys()]
      .filter((c) => c !== ctx.labels[i])
      .sort((a, b) => z[p * width + b]! - z[p * width + a]! || a - b)
      .slice(0, pool),
  );
  // Row j·n + p: sample group[p] against its j-th strongest class.
  const rows = Array.from({ length: pool * n }, (_, r) => group[r % n]!);
  const own = Int32Array.from(rows, (i) => ctx.labels[i]!);
  const other = Int32Array.from({ length: pool * n }, (_, r) => strongest[r % n]![Math.floor(r / n)]!);
  const tiled = takeRows(ctx.x, rows);
  const { margin, gradientNorm } = await linearise(ctx, tiled, pairwiseMargin(own, other), rows);
  tiled.dispose();
  const distance = (r: number) => Math.abs(margin[r]!) / gradientNorm[r]!;
  const ranked = group.map((_, p) => [...Array(pool).keys()].map((j) => j * n + p).sort((a, b) => distance(a) - distance(b) || a - b));
  const count = Math.min(o.candidates, pool);
  const sample: number[] = [];
  const towards: number[] = [];
  const initialConst: number[] = [];
  for (let j = 0; j < count; j++) {
    group.forEach((i, p) => {
      const r = ranked[p]![j]!;
      sample.push(i);
      towards.push(other[r]!);
      initialConst.push(o.initialConst === 'linearised' ? criticalConst(margin[r]!, gradientNorm[r]!, o.confidence) : o.initialConst);
    });
  }
  return { sample, towards: Int32Array.from(towards), initialConst: Float64Array.from(initialConst) };
}

/** A margin's value and input-gradient norm at x, one gradient evaluation per row. */
async function linearise(ctx: AttackContext, x: tf.Tensor, margin: LossFn, rows: readonly number[]): Promise<{ margin: Float32Array; gradientNorm: Float32Array }> {
  const result = await ctx.gradient(x, margin, rows);
  const norms = tf.tidy(() => tf.norm(tf.reshape(result.gradient, [result.gradient.shape[0], -1]), 'euclidean', 1));
  const values = { margin: (await result.loss.data()) as Float32Array, gradientNorm: (await norms.data()) as Float32Array };
  tf.dispose([norms, result.gradient, result.loss, result.logits]);
  return values;
}

/**
 * Twice the c at which the minimiser of ‖δ‖² + c·(κ − m − g·δ) — the problem with the margin
 * linearised at x — reaches margin κ: δ = c·g/2 gains c‖g‖²/2.
 */
function criticalConst(margin: number, gradientNorm: number, confidence: number): number {
  const c = (LINEARISED_FACTOR * 2 * Math.max(confidence - margin, 0)) / gradientNorm ** 2;
  return Number.isFinite(c) && c > 0 ? c : FALLBACK_CONST;
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

/** The binary search over c for every search; the closest adversarial of each search. */
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
  const rateAt = (step: number) => {
    if (o.schedule === 'constant') return o.learningRate;
    const warm = Math.min(1, (step + 1) / (WARMUP_FRACTION * o.steps));
    return o.learningRate * warm * (0.5 + 0.5 * Math.cos((Math.PI * step) / o.steps));
  };

  let best = tf.clone(x);
  const bestNorm = new Float64Array(total).fill(Infinity);
  let consts = Float64Array.from(searches.initialConst);
  const lower = new Float64Array(total);
  const upper = new Float64Array(total).fill(Infinity);
  const active = new Array<boolean>(total).fill(true);
  const checkEvery = Math.ceil(o.steps / 10);

  for (let round = 0; round < o.binarySearchSteps; round++) {
    if (round === o.binarySearchSteps - 1 && o.binarySearchSteps >= 10) consts = consts.map((_, v) => Math.min(upper[v]!, 1e10));
    const foundThisRound = new Array<boolean>(total).fill(false);
    const previous = new Float64Array(total).fill(Infinity);
    let rows = [...Array(total).keys()].filter((v) => active[v]);
    let w = takeRows(wClean, rows);
    let m = tf.zerosLike(w);
    let v = tf.zerosLike(w);
    let origin = takeRows(x, rows);
    let rec = takeRows(reconstructed, rows);

    for (let step = 0; step < o.steps && rows.length > 0; step++) {
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
      const rate = rateAt(step);
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
        if (!o.abortEarly || step % checkEvery !== 0) return false;
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

    if (searches.towards) {
      // A candidate class already well beaten by another one for the same sample is given up.
      const closest = new Map<number, number>();
      searches.sample.forEach((i, r) => closest.set(i, Math.min(closest.get(i) ?? Infinity, bestNorm[r]!)));
      searches.sample.forEach((i, r) => {
        if (bestNorm[r]! < Infinity && bestNorm[r]! > closest.get(i)! * (1 + PRUNE_SLACK)) active[r] = false;
      });
    }
    for (let r = 0; r < total; r++) {
      if (foundThisRound[r]) upper[r] = consts[r]!;
      else lower[r] = consts[r]!;
      consts[r] = upper[r] === Infinity ? consts[r]! * 10 : (lower[r]! + upper[r]!) / 2;
    }
  }
  tf.dispose([x, wClean, reconstructed]);
  return { best, bestNorm };
}
