/**
 * The box-constrained L-BFGS attack of Szegedy et al. 2013, the attack that started the field:
 * for a target class t, minimise c·‖x' − x‖₂² + CE(f(x'), t) over the box, with a search over c
 * for the largest c — the smallest perturbation — whose minimiser the model puts in class t.
 *
 * The minimiser is a projected L-BFGS in the style of L-BFGS-B: a two-loop recursion on the
 * coordinates not held at a bound, a projected backtracking (Armijo) line search, and memory
 * resets when the direction stops descending. It runs on Float64 arrays per sample; model
 * evaluations are batched across samples. Every point evaluated on target is a candidate; the
 * closest one is kept.
 *
 * The method is targeted by construction: without a `target` it aims at each sample's
 * least-likely class (the hardest target, Szegedy's demonstration that any class is reachable).
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show } from '../errors.js';
import { defineAttack, pick, type AttackContext } from './runner.js';
import { crossEntropy } from './losses.js';
import { checkCriterion, checkInteger, checkKnownOptions, checkNumber, checkTarget } from './options.js';
import type { Attack, CriterionSpec, TargetSpec } from './types.js';

export interface LbfgsOptions {
  /** The class to reach. Default 'least-likely'. */
  target?: TargetSpec;
  /** L-BFGS iterations per value of c. Default 100. */
  steps?: number;
  /** Values of c tried per sample (×10 / ÷10 until bracketed, then geometric bisection). Default 10. */
  binarySearchSteps?: number;
  /** First c. Default 0.01. */
  initialConst?: number;
  /** Correction pairs kept by L-BFGS. Default 10. */
  memory?: number;
  criterion?: CriterionSpec;
}

export const LBFGS_DEFAULTS = { target: 'least-likely', steps: 100, binarySearchSteps: 10, initialConst: 0.01, memory: 10 } as const;

export function lbfgs(options: LbfgsOptions = {}): Attack {
  checkKnownOptions(options, ['target', 'steps', 'binarySearchSteps', 'initialConst', 'memory', 'criterion'], 'lbfgs');
  if (options.criterion !== undefined && (typeof options.criterion !== 'object' || options.criterion.kind !== 'targeted')) {
    throw new RobustestError('INVALID_OPTION', 'lbfgs() is targeted by construction: it minimises the distance to a chosen class.', {
      expected: "a `target` (default 'least-likely'), and no criterion or { kind: 'targeted' }",
      received: `criterion ${show(typeof options.criterion === 'object' ? options.criterion.kind : options.criterion)}`,
    });
  }
  const target = checkTarget(options.target ?? LBFGS_DEFAULTS.target, 'lbfgs')!;
  const criterion = checkCriterion(options.criterion, target, { targeted: true, topK: false }, 'lbfgs');
  const o = {
    steps: checkInteger(options.steps ?? LBFGS_DEFAULTS.steps, 'steps', 'lbfgs', 1),
    binarySearchSteps: checkInteger(options.binarySearchSteps ?? LBFGS_DEFAULTS.binarySearchSteps, 'binarySearchSteps', 'lbfgs', 1),
    initialConst: checkNumber(options.initialConst ?? LBFGS_DEFAULTS.initialConst, 'initialConst', 'lbfgs', 0, Infinity, true),
    memory: checkInteger(options.memory ?? LBFGS_DEFAULTS.memory, 'memory', 'lbfgs', 1),
  };
  return defineAttack({
    name: 'L-BFGS',
    norm: 'l2',
    kind: 'minimization',
    requiresGradients: true,
    options: { ...o, target, criterion },
    describe: () => `L-BFGS (L2, target ${show(target)}, ${o.binarySearchSteps} values of c × ≤ ${o.steps} iterations)`,
    perturb: (ctx) => attack(ctx, o),
  });
}

interface Settings {
  steps: number;
  binarySearchSteps: number;
  initialConst: number;
  memory: number;
}

async function attack(ctx: AttackContext, o: Settings): Promise<tf.Tensor> {
  const n = ctx.x.shape[0];
  const shape = ctx.x.shape.slice(1);
  const size = ctx.x.size / n;
  const flat = await ctx.x.data();
  const origins = Array.from({ length: n }, (_, i) => Float64Array.from(flat.subarray(i * size, (i + 1) * size)));
  const best: (Float32Array | null)[] = new Array(n).fill(null);
  const bestDistance = new Float64Array(n).fill(Infinity);
  const consts = new Float64Array(n).fill(o.initialConst);
  const good = new Float64Array(n);
  const bad = new Float64Array(n).fill(Infinity);

  for (let round = 0; round < o.binarySearchSteps; round++) {
    const solvers = origins.map((x0, i) => new ProjectedLbfgs(x0, consts[i]!, ctx.bounds, o.memory, o.steps));
    for (;;) {
      const rows = solvers.flatMap((s, i) => (s.done ? [] : [i]));
      if (rows.length === 0) break;
      const points = new Float32Array(rows.length * size);
      rows.forEach((i, p) => points.set(solvers[i]!.request(), p * size));
      const input = tf.tensor(points, [rows.length, ...shape]);
      const targets = pick(ctx.targets!, rows);
      const { gradient, logits, loss } = await ctx.gradient(input, (z) => tf.tidy(() => crossEntropy(z, tf.oneHot(tf.tensor1d(targets, 'int32'), z.shape[1]))), rows);
      const [values, gradients] = [await loss.data(), await gradient.data()];
      const onTarget = ctx.isAdversarial(logits, rows);
      tf.dispose([input, gradient, logits, loss]);
      rows.forEach((i, p) => {
        const point = points.subarray(p * size, (p + 1) * size);
        if (onTarget[p]) {
          const d = distance(point, origins[i]!);
          if (d < bestDistance[i]!) {
            bestDistance[i] = d;
            best[i] = point.slice();
          }
        }
        solvers[i]!.receive(values[p]!, gradients.subarray(p * size, (p + 1) * size), onTarget[p]!);
      });
    }
    // The search wants the largest c whose minimiser is still on target.
    solvers.forEach((s, i) => {
      if (s.onTarget) good[i] = Math.max(good[i]!, consts[i]!);
      else bad[i] = Math.min(bad[i]!, consts[i]!);
      consts[i] = bad[i] === Infinity ? consts[i]! * 10 : good[i] === 0 ? consts[i]! / 10 : Math.sqrt(good[i]! * bad[i]!);
    });
  }
  const out = new Float32Array(n * size);
  for (let i = 0; i < n; i++) out.set(best[i] ?? flat.subarray(i * size, (i + 1) * size), i * size);
  return tf.tensor(out, ctx.x.shape);
}

function distance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return Math.sqrt(s);
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

const ARMIJO = 1e-4;
const MAX_BACKTRACKS = 30;
const RELATIVE_TOLERANCE = 2.2e-9; // scipy's L-BFGS-B default (factr 1e7 × machine ε)
const GRADIENT_TOLERANCE = 1e-5;

/**
 * Minimises F(z) = c‖z − x0‖² + CE(z) over the box by reverse communication: `request()` gives
 * the point to evaluate, `receive()` takes the cross-entropy and its gradient there.
 */
export class ProjectedLbfgs {
  done = false;
  /** Whether the current iterate is on target. */
  onTarget = false;
  private z: Float64Array;
  private f = Infinity;
  private g: Float64Array;
  private readonly s: Float64Array[] = [];
  private readonly y: Float64Array[] = [];
  private direction: Float64Array;
  private trial: Float64Array;
  private alpha = 1;
  private backtracks = 0;
  private iterations = 0;
  private started = false;

  constructor(
    private readonly x0: Float64Array,
    private readonly c: number,
    private readonly bounds: readonly [number, number],
    private readonly memory: number,
    private readonly maxIterations: number,
  ) {
    this.z = Float64Array.from(x0);
    this.g = new Float64Array(x0.length);
    this.direction = new Float64Array(x0.length);
    this.trial = Float64Array.from(x0);
  }

  request(): Float64Array {
    return this.trial;
  }

  receive(ce: number, ceGradient: ArrayLike<number>, onTarget: boolean): void {
    const n = this.x0.length;
    const f = ce + this.c * dot(sub(this.trial, this.x0), sub(this.trial, this.x0));
    const g = new Float64Array(n);
    for (let i = 0; i < n; i++) g[i] = ceGradient[i]! + 2 * this.c * (this.trial[i]! - this.x0[i]!);
    if (!this.started) {
      this.started = true;
      this.accept(f, g, onTarget, false);
      return;
    }
    const step = sub(this.trial, this.z);
    if (f <= this.f + ARMIJO * dot(this.g, step)) {
      const previous = this.f;
      const s = step;
      const y = sub(g, this.g);
      if (dot(s, y) > 1e-10 * dot(y, y)) {
        this.s.push(s);
        this.y.push(y);
        if (this.s.length > this.memory) {
          this.s.shift();
          this.y.shift();
        }
      }
      this.accept(f, g, onTarget, (previous - f) <= RELATIVE_TOLERANCE * Math.max(Math.abs(previous), Math.abs(f), 1));
      return;
    }
    if (++this.backtracks > MAX_BACKTRACKS) {
      // The line search failed along this direction: retry once along the projected gradient.
      if (this.s.length > 0) {
        this.s.length = 0;
        this.y.length = 0;
        this.plan();
      } else this.done = true;
      return;
    }
    this.alpha /= 2;
    this.project();
  }

  private accept(f: number, g: Float64Array, onTarget: boolean, stalled: boolean): void {
    this.z = this.trial;
    this.f = f;
    this.g = g;
    this.onTarget = onTarget;
    if (this.started && this.iterations++ >= this.maxIterations) this.done = true;
    else if (stalled || this.projectedGradientSize() < GRADIENT_TOLERANCE) this.done = true;
    else this.plan();
  }

  private isFree(i: number): boolean {
    const [low, high] = this.bounds;
    return !((this.z[i]! <= low && this.g[i]! > 0) || (this.z[i]! >= high && this.g[i]! < 0));
  }

  private projectedGradientSize(): number {
    let m = 0;
    for (let i = 0; i < this.z.length; i++) if (this.isFree(i)) m = Math.max(m, Math.abs(this.g[i]!));
    return m;
  }

  /** Two-loop recursion on the free coordinates; steepest descent if that does not descend. */
  private plan(): void {
    const n = this.z.length;
    const free = Uint8Array.from({ length: n }, (_, i) => (this.isFree(i) ? 1 : 0));
    const q = Float64Array.from(this.g, (v, i) => (free[i] ? v : 0));
    const k = this.s.length;
    const a = new Float64Array(k);
    const rho = this.s.map((s, j) => 1 / dot(s, this.y[j]!));
    for (let j = k - 1; j >= 0; j--) {
      a[j] = rho[j]! * dot(this.s[j]!, q);
      axpy(q, -a[j]!, this.y[j]!);
    }
    const gamma = k > 0 ? dot(this.s[k - 1]!, this.y[k - 1]!) / dot(this.y[k - 1]!, this.y[k - 1]!) : 1;
    for (let i = 0; i < n; i++) q[i]! *= gamma;
    for (let j = 0; j < k; j++) {
      const b = rho[j]! * dot(this.y[j]!, q);
      axpy(q, a[j]! - b, this.s[j]!);
    }
    for (let i = 0; i < n; i++) this.direction[i] = free[i] ? -q[i]! : 0;
    if (!(dot(this.direction, this.g) < 0)) {
      this.s.length = 0;
      this.y.length = 0;
      for (let i = 0; i < n; i++) this.direction[i] = free[i] ? -this.g[i]! : 0;
    }
    // Without curvature information the first step is scaled to unit length, as L-BFGS-B does.
    this.alpha = this.s.length === 0 ? 1 / Math.max(Math.sqrt(dot(this.direction, this.direction)), 1e-12) : 1;
    this.backtracks = 0;
    this.project();
  }

  private project(): void {
    const [low, high] = this.bounds;
    const t = new Float64Array(this.z.length);
    for (let i = 0; i < t.length; i++) t[i] = Math.min(high, Math.max(low, this.z[i]! + this.alpha * this.direction[i]!));
    this.trial = t;
  }
}

function sub(a: Float64Array, b: Float64Array): Float64Array {
  return Float64Array.from(a, (v, i) => v - b[i]!);
}

function axpy(target: Float64Array, factor: number, x: Float64Array): void {
  for (let i = 0; i < target.length; i++) target[i]! += factor * x[i]!;
}
