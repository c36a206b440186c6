/**
 * FAB, the Fast Adaptive Boundary attack (Croce & Hein, ICML 2020), as in the AutoAttack
 * reference (`fab_base.py`): at each step the decision boundary nearest to the iterate is
 * linearised, the iterate and the original are both projected onto that hyperplane (inside the
 * box), and the next iterate is a convex combination of the two projections, overshot by η and
 * biased towards the original by α ≤ α_max. When the iterate is adversarial and closer than the
 * best so far it is kept, and the search steps back towards the original by β. The result is a
 * minimal adversarial in L∞, L2 or L1.
 *
 * Untargeted, the nearest boundary is chosen among all classes, which costs one gradient per
 * class per step. Targeted (FAB-T), the boundary is that of one class picked by its rank in the
 * clean logits (2 = runner-up, 3, … up to `targetClasses + 1`), one gradient per step, and the
 * goal is still misclassification, as in the reference.
 */
import * as tf from '@tensorflow/tfjs-core';
import { NORM_SYMBOL } from '../norms.js';
import { defineAttack, type AttackContext } from './runner.js';
import { checkBoolean, checkCriterion, checkInteger, checkKnownOptions, checkNorm, checkNumber } from './options.js';
import { type ProjectionNorm } from './fab-projections.js';
import { FabStep } from './fab-step.js';
import { withLogitGradient } from '../engine/tfjs/closed-form.js';
import { readInto } from '../engine/tfjs/host-memory.js';
import type { LossFn } from '../engine/tfjs/types.js';
import type { Attack, CriterionSpec } from './types.js';

export interface FabOptions {
  /** Default 'linf'. */
  norm?: ProjectionNorm;
  /** Target the boundaries of the top-ranked other classes one by one (FAB-T). Default false. */
  targeted?: boolean;
  /** FAB-T: how many ranked classes to try (ranks 2 … targetClasses + 1). Default 9. */
  targetClasses?: number;
  /** Iterations per run. Default 100. */
  steps?: number;
  /** Runs per target; every run after the first starts from a random point. Default 1. */
  restarts?: number;
  /** Radius of the random starts (half of it is used, as in the reference); default ε, else 0.3 / 1 / 5 by norm. */
  startRadius?: number;
  /** Largest weight of the original's projection in a step. Default 0.1. */
  alphaMax?: number;
  /** Overshoot of each projection step. Default 1.05. */
  eta?: number;
  /** Backward step towards the original after an adversarial. Default 0.9. */
  beta?: number;
  criterion?: CriterionSpec;
}

export const FAB_DEFAULTS = { norm: 'linf', targeted: false, targetClasses: 9, steps: 100, restarts: 1, alphaMax: 0.1, eta: 1.05, beta: 0.9 } as const;

/** The reference's default random-start radius per norm when no ε is given. */
const START_RADIUS: Record<ProjectionNorm, number> = { linf: 0.3, l2: 1, l1: 5 };

export function fab(options: FabOptions = {}): Attack {
  checkKnownOptions(options, ['norm', 'targeted', 'targetClasses', 'steps', 'restarts', 'startRadius', 'alphaMax', 'eta', 'beta', 'criterion'], 'fab');
  const norm = checkNorm(options.norm ?? FAB_DEFAULTS.norm, ['linf', 'l2', 'l1'] as const, 'fab');
  const targeted = checkBoolean(options.targeted ?? FAB_DEFAULTS.targeted, 'targeted', 'fab');
  const targetClasses = checkInteger(options.targetClasses ?? FAB_DEFAULTS.targetClasses, 'targetClasses', 'fab', 1);
  const steps = checkInteger(options.steps ?? FAB_DEFAULTS.steps, 'steps', 'fab', 1);
  const restarts = checkInteger(options.restarts ?? FAB_DEFAULTS.restarts, 'restarts', 'fab', 1);
  const startRadius = options.startRadius === undefined ? undefined : checkNumber(options.startRadius, 'startRadius', 'fab', 0, Infinity, true);
  const alphaMax = checkNumber(options.alphaMax ?? FAB_DEFAULTS.alphaMax, 'alphaMax', 'fab', 0, 1);
  const eta = checkNumber(options.eta ?? FAB_DEFAULTS.eta, 'eta', 'fab', 1);
  const beta = checkNumber(options.beta ?? FAB_DEFAULTS.beta, 'beta', 'fab', 0, 1, true);
  const criterion = checkCriterion(options.criterion, undefined, { targeted: false, topK: false }, 'fab');
  const resolved = { norm, targeted, targetClasses, steps, restarts, startRadius, alphaMax, eta, beta, criterion };
  return defineAttack({
    name: targeted ? 'FAB-T' : 'FAB',
    norm,
    kind: 'minimization',
    requiresGradients: true,
    options: resolved,
    describe: () =>
      `FAB${targeted ? `-T (${NORM_SYMBOL[norm]}, ${targetClasses} target classes` : ` (${NORM_SYMBOL[norm]}`}, ${steps} steps${restarts > 1 ? `, ${restarts} restarts` : ''})`,
    rowsPerSample: (o) => (o.targeted ? o.targetClasses : 1) * o.restarts,
    async perturb(ctx) {
      const search = await FabSearch.create(ctx, resolved);
      const ranks = targeted ? Array.from({ length: Math.min(targetClasses, ctx.numClasses - 1) }, (_, k) => k + 2) : [null];
      await search.run(ranks.flatMap((rank) => Array.from({ length: restarts }, (_, restart) => ({ rank, restart }))));
      return search.result();
    },
  });
}

interface Resolved {
  norm: ProjectionNorm;
  steps: number;
  startRadius: number | undefined;
  alphaMax: number;
  eta: number;
  beta: number;
}

/** One run of the search: a target rank (null: nearest class) and a restart number. */
interface Pass {
  rank: number | null;
  restart: number;
}

/**
 * One sample under one pass. The reference runs the passes one after another, each on the
 * samples still unbroken; here every pass of every sample steps in the same model call. A lane's
 * iterates depend on its own sample and pass only, so the outcome is the sequential one as long
 * as the lanes are merged in pass order (see `result`).
 */
interface Lane {
  row: number;
  /** Index of the pass in the sequential order. */
  pass: number;
  target: number | null;
  x: Float32Array;
  best: Float32Array | null;
  bestDistance: number;
  /** Found an adversarial within ε: in sequential order the sample would be done here. */
  settled: boolean;
}

/** Per-sample state of one batch on the host: originals, clean ranking, and the lanes. */
class FabSearch {
  private readonly size: number;
  private readonly low: number;
  private readonly width: number;
  private lanes: Lane[] = [];
  private readonly buffers = new StepBuffers();

  private constructor(
    private readonly ctx: AttackContext,
    private readonly o: Resolved,
    private readonly originals: Float32Array[],
    /** Classes by decreasing clean logit, per sample. */
    private readonly ranking: Int32Array[],
  ) {
    this.size = ctx.x.size / ctx.x.shape[0];
    [this.low] = ctx.bounds;
    this.width = ctx.bounds[1] - ctx.bounds[0];
  }

  static async create(ctx: AttackContext, o: Resolved): Promise<FabSearch> {
    const n = ctx.x.shape[0];
    const size = ctx.x.size / n;
    const data = (await ctx.x.data()) as Float32Array;
    const logits = await ctx.logits(ctx.x);
    const z = (await logits.data()) as Float32Array;
    logits.dispose();
    const k = ctx.numClasses;
    const ranking = Array.from({ length: n }, (_, i) => {
      const row = z.subarray(i * k, (i + 1) * k);
      return Int32Array.from({ length: k }, (_, j) => j).sort((a, b) => row[b]! - row[a]! || a - b);
    });
    return new FabSearch(ctx, o, Array.from({ length: n }, (_, i) => data.slice(i * size, (i + 1) * size)), ranking);
  }

  /**
   * Per sample, the adversarial the sequential passes would keep: the closest one over the
   * passes up to the first that settled (all passes when none did), ties to the earlier pass,
   * as a strict `<` over passes in order gives.
   */
  result(): tf.Tensor {
    const n = this.originals.length;
    const out = new Float32Array(n * this.size);
    this.originals.forEach((x, i) => out.set(x, i * this.size));
    const lastPass = new Array<number>(n).fill(Infinity);
    for (const lane of this.lanes) if (lane.settled) lastPass[lane.row] = Math.min(lastPass[lane.row]!, lane.pass);
    const chosen = new Array<Lane | null>(n).fill(null);
    for (const lane of this.lanes) {
      if (lane.pass > lastPass[lane.row]! || lane.best === null) continue;
      const current = chosen[lane.row];
      if (!current || lane.bestDistance < current.bestDistance || (lane.bestDistance === current.bestDistance && lane.pass < current.pass)) chosen[lane.row] = lane;
    }
    chosen.forEach((lane, i) => lane && out.set(lane.best!, i * this.size));
    return tf.tensor(out, this.ctx.x.shape);
  }

  /** ‖v‖ in the attack's norm. */
  private magnitude(v: ArrayLike<number>): number {
    let s = 0;
    if (this.o.norm === 'linf') for (let j = 0; j < v.length; j++) s = Math.max(s, Math.abs(v[j]!));
    else if (this.o.norm === 'l2') for (let j = 0; j < v.length; j++) s += v[j]! * v[j]!;
    else for (let j = 0; j < v.length; j++) s += Math.abs(v[j]!);
    return this.o.norm === 'l2' ? Math.sqrt(s) : s;
  }

  /** ‖a − b‖ in the attack's norm; one loop per norm, and `>` rather than Math.max, whose ties cost a mispredicted branch. */
  private distance(a: Float32Array, b: Float32Array): number {
    let s = 0;
    const n = a.length;
    if (this.o.norm === 'linf')
      for (let j = 0; j < n; j++) {
        const v = Math.abs(a[j]! - b[j]!);
        s = v > s ? v : s;
      }
    else if (this.o.norm === 'l2')
      for (let j = 0; j < n; j++) {
        const v = a[j]! - b[j]!;
        s += v * v;
      }
    else for (let j = 0; j < n; j++) s += Math.abs(a[j]! - b[j]!);
    return this.o.norm === 'l2' ? Math.sqrt(s) : s;
  }

  /** The reference's restart: half the radius along a random direction of unit size in the norm. */
  private start(i: number, restart: number): Float32Array {
    const x0 = this.originals[i]!;
    if (restart === 0) return x0.slice();
    const radius = 0.5 * (this.ctx.epsilon ?? this.o.startRadius ?? START_RADIUS[this.o.norm]);
    const [low, high] = this.ctx.bounds;
    const rng = this.ctx.sampleRng(i).split(`fab-restart-${restart}`);
    const t = new Float64Array(this.size);
    for (let j = 0; j < this.size; j++) t[j] = this.o.norm === 'linf' ? rng.uniform(-1, 1) : rng.normal();
    const unit = this.magnitude(t) || 1;
    const x = new Float32Array(this.size);
    for (let j = 0; j < this.size; j++) x[j] = Math.min(high, Math.max(low, x0[j]! + (radius * t[j]!) / unit));
    return x;
  }

  async run(passes: readonly Pass[]): Promise<void> {
    const { ctx, o, size } = this;
    const [low] = ctx.bounds;
    const epsilon = ctx.epsilon;
    this.lanes = this.originals.flatMap((_, row) =>
      passes.map(({ rank, restart }, pass) => ({
        row,
        pass,
        target: rank === null ? null : this.ranking[row]![rank - 1]!,
        x: this.start(row, restart),
        best: null,
        bestDistance: Infinity,
        settled: false,
      })),
    );
    // The originals in unit-box coordinates, once per sample.
    const unit = this.originals.map((x0) => Float64Array.from(x0, (v) => (v - low) / this.width));
    // A sample's passes after the first that settled would not run in sequence.
    const firstSettled = new Array<number>(this.originals.length).fill(Infinity);
    let active = this.lanes;
    const stepper = new FabStep(size, { norm: o.norm, bounds: ctx.bounds, eta: o.eta, alphaMax: o.alphaMax });

    for (let step = 0; step < o.steps && active.length > 0; step++) {
      const n = active.length;
      const shape = [n, ...ctx.x.shape.slice(1)];
      const rows = active.map((l) => l.row);
      const { df, dg } = await this.nearestBoundary(active, shape);
      const next = this.buffers.next(n * size);
      for (let k = 0; k < n; k++) stepper.next(active[k]!.x, unit[rows[k]!]!, df[k]!, dg, k * size, next, k * size);
      const verdict = await this.adversarial(next, rows, shape);
      for (let k = 0; k < n; k++) {
        const lane = active[k]!;
        lane.x.set(next.subarray(k * size, (k + 1) * size));
        // With ε, a sample broken within it is done: only the verdict at ε is asked for.
        if (verdict[k] && this.keep(lane) <= (epsilon ?? -Infinity)) {
          lane.settled = true;
          firstSettled[lane.row] = Math.min(firstSettled[lane.row]!, lane.pass);
        }
      }
      active = active.filter((l) => !l.settled && l.pass < firstSettled[l.row]!);
    }
  }

  /**
   * A lane's iterate is adversarial: kept if closer than its best, then moved back towards the
   * original by β. Returns its distance.
   */
  private keep(lane: Lane): number {
    const x0 = this.originals[lane.row]!;
    const x = lane.x;
    const t = this.distance(x, x0);
    if (t < lane.bestDistance) {
      lane.bestDistance = t;
      if (lane.best === null) lane.best = x.slice();
      else lane.best.set(x);
    }
    const beta = this.o.beta;
    for (let j = 0; j < x.length; j++) x[j] = x0[j]! + (x[j]! - x0[j]!) * beta;
    return t;
  }

  private async adversarial(input: Float32Array, rows: number[], shape: number[]): Promise<boolean[]> {
    const x = tf.tensor(input, shape);
    const logits = await this.ctx.logits(x, rows);
    const verdict = this.ctx.isAdversarial(logits, rows);
    tf.dispose([x, logits]);
    return verdict;
  }

  /**
   * Per lane, the boundary nearest in the linearisation: the logit difference f_c − f_y at its
   * iterate (df, negative while it is classified y) and its gradient (dg, one row per lane), for
   * the class c whose hyperplane is closest in the norm (or the lane's target).
   */
  private async nearestBoundary(lanes: readonly Lane[], shape: number[]): Promise<{ df: Float64Array; dg: Float32Array }> {
    const n = lanes.length;
    const size = this.size;
    const rows = lanes.map((l) => l.row);
    const labels = Int32Array.from(rows, (i) => this.ctx.labels[i]!);
    const packed = this.buffers.packed(n * size);
    lanes.forEach((l, k) => packed.set(l.x, k * size));
    const input = tf.tensor(packed, shape);
    const df = new Float64Array(n).fill(Infinity);
    try {
      if (lanes[0]?.target !== null) {
        // FAB-T: one boundary per lane, its gradient rows used as they come.
        const other = Int32Array.from(lanes, (l) => l.target!);
        const { values, gradient } = await this.boundary(input, other, labels, rows);
        // A lane whose target is its label has no boundary: no step.
        for (let k = 0; k < n; k++) {
          if (other[k] === labels[k]) gradient.fill(0, k * size, (k + 1) * size);
          else df[k] = values[k]!;
        }
        for (let k = 0; k < n; k++) if (!Number.isFinite(df[k]!)) df[k] = 0;
        return { df, dg: gradient };
      }
      const nearest = new Float64Array(n).fill(Infinity);
      const dg = this.buffers.nearest(n * size).fill(0);
      for (let c = 0; c < this.ctx.numClasses; c++) {
        const other = Int32Array.from(labels, () => c);
        const { values, gradient } = await this.boundary(input, other, labels, rows);
        for (let k = 0; k < n; k++) {
          if (other[k] === labels[k]) continue;
          const g = gradient.subarray(k * size, (k + 1) * size);
          let dual = 0;
          for (let j = 0; j < size; j++) {
            const v = Math.abs(g[j]!);
            if (this.o.norm === 'linf') dual += v;
            else if (this.o.norm === 'l2') dual += v * v;
            else dual = Math.max(dual, v);
          }
          if (this.o.norm === 'l2') dual = Math.sqrt(dual);
          const distance = Math.abs(values[k]!) / (1e-12 + dual * this.width);
          if (distance < nearest[k]! || !Number.isFinite(nearest[k]!)) {
            nearest[k] = distance;
            df[k] = values[k]!;
            dg.set(g, k * size);
          }
        }
      }
      for (let k = 0; k < n; k++) if (!Number.isFinite(df[k]!)) df[k] = 0;
      return { df, dg };
    } finally {
      input.dispose();
    }
  }

  /** f_other − f_label per lane at the input, with its gradient, on the host. */
  private async boundary(input: tf.Tensor, other: Int32Array, labels: Int32Array, rows: number[]): Promise<{ values: Float32Array; gradient: Float32Array }> {
    const result = await this.ctx.gradient(input, logitDifference(other, labels), rows);
    try {
      return { values: (await result.loss.data()) as Float32Array, gradient: readInto(result.gradient, this.buffers.gradient(result.gradient.size)) };
    } finally {
      tf.dispose([result.logits, result.loss, result.gradient]);
    }
  }
}

/**
 * Host arrays that live across FAB's steps: each step's tensors are made from them and disposed
 * within the step, and what a step reads back is used within it, so the next step can overwrite
 * them. Arrays of megabytes made anew every step cost fresh pages each time.
 */
class StepBuffers {
  private readonly arrays: Record<'packed' | 'next' | 'gradient' | 'nearest', Float32Array> = {
    packed: new Float32Array(0),
    next: new Float32Array(0),
    gradient: new Float32Array(0),
    nearest: new Float32Array(0),
  };

  /** The iterates of the lanes, packed for the gradient call. */
  packed(length: number): Float32Array {
    return this.at('packed', length);
  }

  /** The next iterates, for the verdict call. */
  next(length: number): Float32Array {
    return this.at('next', length);
  }

  /** A boundary's gradient rows, read back from the engine. */
  gradient(length: number): Float32Array {
    return this.at('gradient', length);
  }

  /** The gradient rows of each lane's nearest boundary (untargeted FAB). */
  nearest(length: number): Float32Array {
    return this.at('nearest', length);
  }

  private at(name: 'packed' | 'next' | 'gradient' | 'nearest', length: number): Float32Array {
    if (this.arrays[name].length < length) this.arrays[name] = new Float32Array(length);
    return this.arrays[name].subarray(0, length);
  }
}

/**
 * f_other − f_label per row, with its logit gradient in closed form (+1 and −1 at the two
 * classes), so the engine records no tape for the head. In float32, as the tensor ops give it.
 */
function logitDifference(other: Int32Array, labels: Int32Array): LossFn {
  const value = (logits: tf.Tensor2D): { loss: tf.Tensor1D; gradient: tf.Tensor2D } => {
    const [n, classes] = logits.shape;
    const z = logits.dataSync();
    const loss = new Float32Array(n);
    const gradient = new Float32Array(n * classes);
    for (let k = 0; k < n; k++) {
      loss[k] = z[k * classes + other[k]!]! - z[k * classes + labels[k]!]!;
      gradient[k * classes + other[k]!]! += 1;
      gradient[k * classes + labels[k]!]! -= 1;
    }
    return { loss: tf.tensor1d(loss), gradient: tf.tensor2d(gradient, [n, classes]) };
  };
  // Engines without closed forms differentiate the tensor version.
  const differentiable: LossFn = (logits) =>
    tf.tidy(() => {
      const k = logits.shape[1];
      const mask = tf.sub(tf.oneHot(tf.tensor1d(other, 'int32'), k), tf.oneHot(tf.tensor1d(labels, 'int32'), k));
      return tf.sum(tf.mul(logits, mask), 1) as tf.Tensor1D;
    });
  return withLogitGradient(differentiable, value);
}
