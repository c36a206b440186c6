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
import { projectOntoHyperplane, type ProjectionNorm } from './fab-projections.js';
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
    async perturb(ctx) {
      const search = await FabSearch.create(ctx, resolved);
      const ranks = targeted ? Array.from({ length: Math.min(targetClasses, ctx.numClasses - 1) }, (_, k) => k + 2) : [null];
      for (const rank of ranks) {
        for (let restart = 0; restart < restarts; restart++) {
          const rows = search.unsettled();
          if (rows.length === 0) break;
          await search.run(rows, rank, restart);
        }
      }
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

/** Per-sample state of one batch on the host: originals, best adversarials and their distances. */
class FabSearch {
  private readonly size: number;
  private readonly low: number;
  private readonly width: number;
  private readonly best: Float32Array[];
  private readonly bestDistance: Float64Array;

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
    this.best = originals.map((x) => x.slice());
    this.bestDistance = new Float64Array(originals.length).fill(Infinity);
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

  /** Samples not yet broken within ε (all samples when no ε: a minimization keeps improving). */
  unsettled(): number[] {
    const epsilon = this.ctx.epsilon;
    return [...this.originals.keys()].filter((i) => !(this.bestDistance[i]! <= (epsilon ?? -1)));
  }

  result(): tf.Tensor {
    const out = new Float32Array(this.originals.length * this.size);
    this.best.forEach((b, i) => out.set(b, i * this.size));
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

  private distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
    let s = 0;
    for (let j = 0; j < a.length; j++) {
      const v = Math.abs(a[j]! - b[j]!);
      if (this.o.norm === 'linf') s = Math.max(s, v);
      else if (this.o.norm === 'l2') s += v * v;
      else s += v;
    }
    return this.o.norm === 'l2' ? Math.sqrt(s) : s;
  }

  /** The reference's restart: half the radius along a random direction of unit size in the norm. */
  private start(rows: number[], restart: number): Float32Array[] {
    if (restart === 0) return rows.map((i) => this.originals[i]!.slice());
    const radius = 0.5 * (this.ctx.epsilon ?? this.o.startRadius ?? START_RADIUS[this.o.norm]);
    const [low, high] = this.ctx.bounds;
    return rows.map((i) => {
      const rng = this.ctx.sampleRng(i).split(`fab-restart-${restart}`);
      const t = new Float64Array(this.size);
      for (let j = 0; j < this.size; j++) t[j] = this.o.norm === 'linf' ? rng.uniform(-1, 1) : rng.normal();
      const unit = this.magnitude(t) || 1;
      const x0 = this.originals[i]!;
      return Float32Array.from(x0, (v, j) => Math.min(high, Math.max(low, v + (radius * t[j]!) / unit)));
    });
  }

  async run(startRows: number[], rank: number | null, restart: number): Promise<void> {
    const { ctx, o, size } = this;
    const [low, high] = ctx.bounds;
    const u1 = new Float64Array(size);
    const u0 = new Float64Array(size);
    const w = new Float64Array(size);
    let rows = startRows;
    let x1 = this.start(rows, restart);

    for (let step = 0; step < o.steps && rows.length > 0; step++) {
      const n = rows.length;
      const shape = [n, ...ctx.x.shape.slice(1)];
      const labels = Int32Array.from(rows, (i) => ctx.labels[i]!);
      const targets = rank === null ? null : Int32Array.from(rows, (i) => this.ranking[i]![rank - 1]!);
      const { df, dg } = await this.nearestBoundary(x1, rows, labels, targets, shape);
      const next: Float32Array[] = [];
      for (let k = 0; k < n; k++) {
        const x0 = this.originals[rows[k]!]!;
        // The linearised boundary f(x1) + g·(z − x1) = 0, in unit-box coordinates u = (z − low)/width.
        const g = dg[k]!;
        const xk = x1[k]!;
        let wu1 = 0;
        for (let j = 0; j < size; j++) {
          w[j] = g[j]! * this.width;
          u1[j] = (xk[j]! - low) / this.width;
          u0[j] = (x0[j]! - low) / this.width;
          wu1 += w[j]! * u1[j]!;
        }
        const b = -df[k]! + wu1;
        const d1 = projectOntoHyperplane(o.norm, u1, w, b);
        const d2 = projectOntoHyperplane(o.norm, u0, w, b);
        const a1 = Math.max(this.magnitude(d1), 1e-8);
        const a2 = Math.max(this.magnitude(d2), 1e-8);
        const alpha = Math.min(Math.max(a1 / (a1 + a2), 0), o.alphaMax);
        const x = new Float32Array(size);
        for (let j = 0; j < size; j++) {
          const u = (u1[j]! + o.eta * d1[j]!) * (1 - alpha) + (u0[j]! + o.eta * d2[j]!) * alpha;
          x[j] = Math.min(high, Math.max(low, low + Math.min(1, Math.max(0, u)) * this.width));
        }
        next.push(x);
      }
      const verdict = await this.adversarial(next, rows, shape);
      for (let k = 0; k < n; k++) {
        const x0 = this.originals[rows[k]!]!;
        const x = next[k]!;
        if (verdict[k]) {
          const t = this.distance(x, x0);
          if (t < this.bestDistance[rows[k]!]!) {
            this.bestDistance[rows[k]!] = t;
            this.best[rows[k]!] = x.slice();
          }
          for (let j = 0; j < size; j++) x[j] = x0[j]! + (x[j]! - x0[j]!) * o.beta;
        }
        x1[k] = x;
      }
      // With ε, a sample broken within it is done: only the verdict at ε is asked for.
      const open = new Set(this.unsettled());
      const keep = rows.flatMap((i, k) => (open.has(i) ? [k] : []));
      if (keep.length < rows.length) {
        rows = keep.map((k) => rows[k]!);
        x1 = keep.map((k) => x1[k]!);
      }
    }
  }

  private async adversarial(xs: Float32Array[], rows: number[], shape: number[]): Promise<boolean[]> {
    const input = tf.tensor(concat(xs, this.size), shape);
    const logits = await this.ctx.logits(input, rows);
    const verdict = this.ctx.isAdversarial(logits, rows);
    tf.dispose([input, logits]);
    return verdict;
  }

  /**
   * Per sample, the boundary nearest in the linearisation: the logit difference f_c − f_y at x1
   * (df, negative while x1 is classified y) and its gradient (dg), for the class c whose
   * hyperplane is closest in the norm (or the target class).
   */
  private async nearestBoundary(
    x1: Float32Array[],
    rows: number[],
    labels: Int32Array,
    targets: Int32Array | null,
    shape: number[],
  ): Promise<{ df: Float64Array; dg: Float32Array[] }> {
    const n = rows.length;
    const size = this.size;
    const input = tf.tensor(concat(x1, size), shape);
    const classes = targets ? null : [...Array(this.ctx.numClasses).keys()];
    const df = new Float64Array(n).fill(Infinity);
    const nearest = new Float64Array(n).fill(Infinity);
    const dg: Float32Array[] = Array.from({ length: n }, () => new Float32Array(size));
    const candidates = classes ? classes.map((c) => Int32Array.from(labels, () => c)) : [targets!];
    try {
      for (const other of candidates) {
        const loss = (logits: tf.Tensor2D) =>
          tf.tidy(() => {
            const k = logits.shape[1];
            const mask = tf.sub(tf.oneHot(tf.tensor1d(other, 'int32'), k), tf.oneHot(tf.tensor1d(labels, 'int32'), k));
            return tf.sum(tf.mul(logits, mask), 1) as tf.Tensor1D;
          });
        const result = await this.ctx.gradient(input, loss, rows);
        const values = (await result.loss.data()) as Float32Array;
        const gradient = (await result.gradient.data()) as Float32Array;
        tf.dispose([result.logits, result.loss, result.gradient]);
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
            dg[k] = g.slice();
          }
        }
      }
    } finally {
      input.dispose();
    }
    for (let k = 0; k < n; k++) if (!Number.isFinite(df[k]!)) df[k] = 0;
    return { df, dg };
  }
}

function concat(rows: Float32Array[], size: number): Float32Array {
  const out = new Float32Array(rows.length * size);
  rows.forEach((r, k) => out.set(r, k * size));
  return out;
}
