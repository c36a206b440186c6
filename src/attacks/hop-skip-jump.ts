/**
 * HopSkipJump (Chen, Jordan & Wainwright 2020): a decision-based attack that needs only the
 * predicted label. From an adversarial start (blended uniform noise), each iteration
 *   1. bisects towards the original to sit on the decision boundary,
 *   2. estimates the boundary's normal from the signs of Monte-Carlo probes around that point
 *      (100·√t probes at iteration t, at most `maxGradientQueries`),
 *   3. steps along the estimate with a geometric step-size search (ε_t = d_t/√t, halved until
 *      adversarial),
 * following Foolbox 3's implementation (γ = 1, θ = γ/(d√d) for L2 and γ/d² for L∞).
 */
import { NORM_SYMBOL } from '../norms.js';
import type { Rng } from '../engine/random.js';
import { defineAttack } from './runner.js';
import { checkCriterion, checkInteger, checkKnownOptions, checkNorm, checkNumber, checkTarget } from './options.js';
import { describeTarget, l2, linf, QueryOracle } from './query/oracle.js';
import { blendedNoiseStart, START_DEFAULTS } from './query/starting-points.js';
import type { Attack, CriterionSpec, TargetSpec } from './types.js';

export interface HopSkipJumpOptions {
  norm?: 'l2' | 'linf';
  /** Iterations (boundary search, gradient estimate, step). Default 64. */
  steps?: number;
  /** Model queries per sample, starting point included. Default 25,000. */
  queries?: number;
  /** Probes of the first gradient estimate; iteration t uses initial·√t. Default 100. */
  initialGradientQueries?: number;
  /** Cap on the probes of one gradient estimate. Default 10,000. */
  maxGradientQueries?: number;
  /** Scales the binary search's stopping threshold θ. Default 1. */
  gamma?: number;
  target?: TargetSpec;
  criterion?: CriterionSpec;
}

export const HOP_SKIP_JUMP_DEFAULTS = {
  norm: 'l2',
  steps: 64,
  queries: 25_000,
  initialGradientQueries: 100,
  maxGradientQueries: 10_000,
  gamma: 1,
} as const;

/** Largest number of halvings of the step size before an iteration gives up its step. */
const MAX_HALVINGS = 25;
/** Probes per sample in one model call while estimating a gradient. */
const PROBES_PER_CALL = 256;

export function hopSkipJump(options: HopSkipJumpOptions = {}): Attack {
  const where = 'hopSkipJump';
  checkKnownOptions(options, ['norm', 'steps', 'queries', 'initialGradientQueries', 'maxGradientQueries', 'gamma', 'target', 'criterion'], where);
  const d = HOP_SKIP_JUMP_DEFAULTS;
  const norm = checkNorm(options.norm ?? d.norm, ['l2', 'linf'], where);
  const steps = checkInteger(options.steps ?? d.steps, 'steps', where, 0);
  const queries = checkInteger(options.queries ?? d.queries, 'queries', where, 1);
  const initialGradientQueries = checkInteger(options.initialGradientQueries ?? d.initialGradientQueries, 'initialGradientQueries', where, 1);
  const maxGradientQueries = checkInteger(options.maxGradientQueries ?? d.maxGradientQueries, 'maxGradientQueries', where, initialGradientQueries);
  const gamma = checkNumber(options.gamma ?? d.gamma, 'gamma', where, 0, Infinity, true);
  const target = checkTarget(options.target, where);
  const criterion = checkCriterion(options.criterion, target, { targeted: true, topK: true }, where);
  const settings = { norm, steps, queries, initialGradientQueries, maxGradientQueries, gamma };
  return defineAttack({
    name: 'HopSkipJump',
    norm,
    kind: 'minimization',
    requiresGradients: false,
    options: { ...settings, target, criterion },
    describe: (o) => `HopSkipJump (${NORM_SYMBOL[norm]}, ${steps} steps, ${queries} queries${describeTarget(o.target)})`,
    async perturb(ctx) {
      const oracle = await QueryOracle.create(ctx, queries);
      return oracle.toTensor(await new HopSkipJumpSearch(oracle, settings, ctx.targets !== null).run());
    },
  });
}

interface Settings {
  norm: 'l2' | 'linf';
  steps: number;
  initialGradientQueries: number;
  maxGradientQueries: number;
  gamma: number;
}

class HopSkipJumpSearch {
  private readonly theta: number;
  /** The working point per sample: adversarial, near the boundary after each bisection. */
  private readonly best: Float32Array[];
  private readonly distance: Float64Array;
  /** The closest adversarial seen, which is what the attack returns. */
  private readonly closest: Float32Array[];
  private readonly closestDistance: Float64Array;
  private readonly rngs: Rng[];

  constructor(
    private readonly oracle: QueryOracle,
    private readonly s: Settings,
    private readonly targeted: boolean,
  ) {
    const d = oracle.size;
    this.theta = s.norm === 'l2' ? s.gamma / (d * Math.sqrt(d)) : (s.gamma / (d * d)) * (oracle.high - oracle.low);
    this.best = oracle.originals.map((x) => x);
    this.distance = new Float64Array(oracle.count).fill(Infinity);
    this.closest = oracle.originals.map((x) => x);
    this.closestDistance = new Float64Array(oracle.count).fill(Infinity);
    this.rngs = oracle.originals.map((_, i) => oracle.rng(i, 'hop-skip-jump'));
  }

  private dist(i: number, v: Float32Array): number {
    return this.s.norm === 'l2' ? l2(v, this.oracle.originals[i]!) : linf(v, this.oracle.originals[i]!);
  }

  /** Whether sample i is done: out of queries, or already within the ε it is tested at. */
  private settled(i: number): boolean {
    const eps = this.oracle.epsilon;
    return this.oracle.remaining(i) <= 0 || (eps !== undefined && this.closestDistance[i]! <= eps);
  }

  async run(): Promise<Float32Array[]> {
    const { oracle } = this;
    const all = [...Array(oracle.count).keys()];
    const starts = await blendedNoiseStart(oracle, all, { ...START_DEFAULTS, tryOtherSamples: this.targeted });
    let active = all.filter((i) => starts[i] !== null);
    for (const i of active) this.accept(i, starts[i]!);
    await this.toBoundary(active);
    for (let t = 1; t <= this.s.steps; t++) {
      active = active.filter((i) => !this.settled(i));
      if (active.length === 0) break;
      const previous = active.map((i) => this.distance[i]!);
      const delta = active.map((_, k) => this.probeSize(t, previous[k]!));
      const evals = Math.min(Math.floor(this.s.initialGradientQueries * Math.sqrt(t)), this.s.maxGradientQueries);
      const directions = await this.estimateGradients(active, delta, evals);
      await this.geometricStep(active, directions, t);
      await this.toBoundary(active);
    }
    return this.closest;
  }

  private accept(i: number, v: Float32Array): void {
    this.best[i] = v;
    this.distance[i] = this.dist(i, v);
    if (this.distance[i]! < this.closestDistance[i]!) {
      this.closest[i] = v;
      this.closestDistance[i] = this.distance[i]!;
    }
  }

  /** Foolbox's select_delta: the probe radius, relative to the bounds at first, then to θ·d_t. */
  private probeSize(t: number, distance: number): number {
    const d = this.oracle.size;
    if (t === 1) return 0.1 * (this.oracle.high - this.oracle.low);
    return this.s.norm === 'l2' ? Math.sqrt(d) * this.theta * distance : d * this.theta * distance;
  }

  /** Projection of the current adversarial towards the original by a factor α (blend or L∞ box). */
  private project(i: number, alpha: number): Float32Array {
    const x = this.oracle.originals[i]!;
    const v = this.best[i]!;
    const out = new Float32Array(x.length);
    if (this.s.norm === 'l2') for (let j = 0; j < x.length; j++) out[j] = (1 - alpha) * x[j]! + alpha * v[j]!;
    else for (let j = 0; j < x.length; j++) out[j] = x[j]! + Math.min(alpha, Math.max(-alpha, v[j]! - x[j]!));
    return out;
  }

  /** Bisects each sample's adversarial towards its original until within θ of the boundary. */
  private async toBoundary(rows: readonly number[]): Promise<void> {
    const { oracle } = this;
    const high = new Map<number, number>();
    const low = new Map<number, number>();
    const threshold = new Map<number, number>();
    for (const i of rows) {
      const h = this.s.norm === 'l2' ? 1 : this.distance[i]!;
      high.set(i, h);
      low.set(i, 0);
      threshold.set(i, this.s.norm === 'l2' ? this.theta : Math.min(h * this.theta, this.theta));
    }
    let pending = rows.filter((i) => high.get(i)! - low.get(i)! > threshold.get(i)!);
    while (pending.length > 0) {
      pending = pending.filter((i) => oracle.remaining(i) > 0);
      if (pending.length === 0) break;
      const mids = pending.map((i) => (low.get(i)! + high.get(i)!) / 2);
      const candidates = pending.map((i, k) => this.project(i, mids[k]!));
      const verdicts = await oracle.decide(pending, candidates);
      pending = pending.filter((i, k) => {
        const mid = mids[k]!;
        const stalled = mid === low.get(i) || mid === high.get(i);
        (verdicts[k] ? high : low).set(i, mid);
        return !stalled && high.get(i)! - low.get(i)! > threshold.get(i)!;
      });
    }
    for (const i of rows) {
      if (high.get(i)! < (this.s.norm === 'l2' ? 1 : this.distance[i]!)) this.accept(i, this.project(i, high.get(i)!));
    }
  }

  /**
   * Sign-based Monte-Carlo estimate of the boundary normal at each sample's current point:
   * mean of (φ − mean φ)·u over probes u on the unit sphere (L2: Gaussian, L∞: uniform before
   * normalising), φ = ±1 from the verdict. Streams the sums, so memory stays per call.
   */
  private async estimateGradients(rows: readonly number[], delta: readonly number[], evals: number): Promise<Map<number, Float64Array>> {
    const { oracle } = this;
    const size = oracle.size;
    const budget = new Map(rows.map((i) => [i, Math.max(0, Math.min(evals, oracle.remaining(i) - 1))]));
    const done = new Map(rows.map((i) => [i, 0]));
    const signed = new Map(rows.map((i) => [i, new Float64Array(size)]));
    const plain = new Map(rows.map((i) => [i, new Float64Array(size)]));
    const positives = new Map(rows.map((i) => [i, 0]));
    const deltaOf = new Map(rows.map((i, k) => [i, delta[k]!]));

    for (;;) {
      const asked: number[] = [];
      const probes: Float32Array[] = [];
      const units: Float64Array[] = [];
      for (const i of rows) {
        const take = Math.min(PROBES_PER_CALL, budget.get(i)! - done.get(i)!);
        for (let k = 0; k < take; k++) {
          const u = this.direction(i);
          const dl = deltaOf.get(i)!;
          const base = this.best[i]!;
          const probe = new Float32Array(size);
          // Clipping to the bounds changes the probe; use the direction actually taken.
          for (let j = 0; j < size; j++) {
            const v = Math.min(oracle.high, Math.max(oracle.low, base[j]! + dl * u[j]!));
            probe[j] = v;
            u[j] = (probe[j]! - base[j]!) / dl;
          }
          asked.push(i);
          probes.push(probe);
          units.push(u);
        }
        done.set(i, done.get(i)! + take);
      }
      if (asked.length === 0) break;
      const verdicts = await oracle.decide(asked, probes);
      asked.forEach((i, k) => {
        const phi = verdicts[k] ? 1 : -1;
        if (verdicts[k]) positives.set(i, positives.get(i)! + 1);
        const s = signed.get(i)!;
        const p = plain.get(i)!;
        const u = units[k]!;
        for (let j = 0; j < size; j++) {
          s[j] += phi * u[j]!;
          p[j] += u[j]!;
        }
      });
    }

    const out = new Map<number, Float64Array>();
    for (const i of rows) {
      const n = done.get(i)!;
      if (n === 0) continue;
      const mean = (2 * positives.get(i)! - n) / n;
      const s = signed.get(i)!;
      const p = plain.get(i)!;
      const g = new Float64Array(size);
      // All probes on one side: the mean direction itself (Foolbox keeps φ uncentred then).
      if (Math.abs(mean) === 1) for (let j = 0; j < size; j++) g[j] = s[j]! / n;
      else for (let j = 0; j < size; j++) g[j] = (s[j]! - mean * p[j]!) / n;
      let norm = 0;
      for (const v of g) norm += v * v;
      norm = Math.sqrt(norm) + 1e-12;
      for (let j = 0; j < size; j++) g[j] = this.s.norm === 'l2' ? g[j]! / norm : Math.sign(g[j]!);
      out.set(i, g);
    }
    return out;
  }

  private direction(i: number): Float64Array {
    const rng = this.rngs[i]!;
    const u = new Float64Array(this.oracle.size);
    let n2 = 0;
    for (let j = 0; j < u.length; j++) {
      u[j] = this.s.norm === 'l2' ? rng.normal() : rng.uniform(-1, 1);
      n2 += u[j]! * u[j]!;
    }
    const n = Math.sqrt(n2) || 1;
    for (let j = 0; j < u.length; j++) u[j] = u[j]! / n;
    return u;
  }

  /** Steps of size d_t/√t along each estimate, halved until the point is adversarial. */
  private async geometricStep(rows: readonly number[], directions: Map<number, Float64Array>, t: number): Promise<void> {
    const { oracle } = this;
    const size = new Map(rows.map((i) => [i, this.distance[i]! / Math.sqrt(t)]));
    let pending = rows.filter((i) => directions.has(i));
    for (let halving = 0; halving <= MAX_HALVINGS && pending.length > 0; halving++) {
      pending = pending.filter((i) => oracle.remaining(i) > 0);
      if (pending.length === 0) break;
      const candidates = pending.map((i) => {
        const v = this.best[i]!;
        const g = directions.get(i)!;
        const e = size.get(i)!;
        const out = new Float32Array(v.length);
        for (let j = 0; j < v.length; j++) out[j] = v[j]! + e * g[j]!;
        return oracle.clip(out);
      });
      const verdicts = await oracle.decide(pending, candidates);
      pending = pending.filter((i, k) => {
        if (verdicts[k]) {
          this.accept(i, candidates[k]!);
          return false;
        }
        size.set(i, size.get(i)! / 2);
        return true;
      });
    }
  }
}
