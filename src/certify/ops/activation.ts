/**
 * Linear relaxations of the elementwise activations: relu and leaky relu (CROWN's triangle, lower
 * slope chosen adaptively as auto_LiRPA does, and left free for α-CROWN), relu clipped at a
 * maximum (relu6; other clips are shifted onto it), sigmoid and tanh (chord and tangent where the
 * curve is convex or concave, DeepPoly's parallel lines through the end points where it crosses
 * 0), convex functions (elu with alpha ≤ 1, softplus, exp, abs: chord above, tangent below) and
 * hardSwish (two lines of the chord's slope through its exact extremes). Every relaxation holds
 * on the whole input interval, so a bound built on it is sound.
 */
import { fresh, type ActivationBoundOp, type Allocate, type ElementwiseRelaxation, type Interval, type Vec } from './bound-op.js';

/** Transcendental functions are accurate to a few ulps: their relaxations are moved out by this. */
const CURVE_SLACK = 1e-12;

interface Line {
  slope: number;
  intercept: number;
}

abstract class Elementwise implements ActivationBoundOp {
  readonly affine = false;
  readonly elementwise = true;
  readonly outputSize: number;
  /** Bounds on the lower slope α-CROWN may pick for unstable inputs (equal: nothing to pick). */
  minSlope = 0;
  maxSlope = 0;

  constructor(
    readonly kind: string,
    readonly layer: string,
    readonly outputShape: readonly number[],
  ) {
    this.outputSize = outputShape.reduce((a, b) => a * b, 1);
  }

  abstract f(x: number): number;
  /** The relaxation on [l, u]; `free` when the lower slope may be chosen in [minSlope, maxSlope]. */
  abstract lines(l: number, u: number): { lower: Line; upper: Line; free: boolean };

  evaluate(x: Vec, out: Vec): void {
    for (let i = 0; i < x.length; i++) out[i] = this.f(x[i]!);
  }

  /** Elementwise: any number of samples laid end to end. */
  interval(input: Interval, allocate: Allocate = fresh): Interval {
    const lower = allocate(input.lower.length);
    const upper = allocate(input.lower.length);
    this.evaluate(input.lower, lower);
    this.evaluate(input.upper, upper);
    return { lower, upper };
  }

  relax(input: Interval): ElementwiseRelaxation {
    const n = this.outputSize;
    const r = { lowerSlope: new Float64Array(n), lowerIntercept: new Float64Array(n), upperSlope: new Float64Array(n), upperIntercept: new Float64Array(n) };
    const free: number[] = [];
    const { lower: l, upper: u } = input;
    for (let i = 0; i < n; i++) {
      const { lower, upper, free: isFree } = this.lines(l[i]!, u[i]!);
      r.lowerSlope[i] = lower.slope;
      r.lowerIntercept[i] = lower.intercept;
      r.upperSlope[i] = upper.slope;
      r.upperIntercept[i] = upper.intercept;
      if (isFree) free.push(i);
    }
    return { ...r, free: Int32Array.from(free), minSlope: this.minSlope, maxSlope: this.maxSlope };
  }
}

const line = (slope: number, intercept: number): Line => ({ slope, intercept });

/** relu (alpha 0) and leaky relu: x for x > 0, alpha·x otherwise. */
export class LeakyReluBound extends Elementwise {
  readonly piecewiseLinear = true;

  constructor(
    layer: string,
    shape: readonly number[],
    private readonly alpha: number,
  ) {
    super(alpha === 0 ? 'relu' : `leakyRelu(${alpha})`, layer, shape);
    this.minSlope = Math.min(alpha, 1);
    this.maxSlope = Math.max(alpha, 1);
  }

  f(x: number): number {
    return x > 0 ? x : this.alpha * x;
  }

  /** Monotone for alpha ≥ 0: the image of [l, u] is [f(l), f(u)]; one loop, no call per value. */
  override interval(input: Interval, allocate: Allocate = fresh): Interval {
    const a = this.alpha;
    if (a < 0) return super.interval(input, allocate);
    const { lower: l, upper: u } = input;
    const lower = allocate(l.length);
    const upper = allocate(l.length);
    for (let i = 0; i < l.length; i++) {
      const x = l[i]!;
      const y = u[i]!;
      lower[i] = x > 0 ? x : a * x;
      upper[i] = y > 0 ? y : a * y;
    }
    return { lower, upper };
  }

  /** lines() for every input, written straight into the arrays (no object per input). */
  override relax(input: Interval): ElementwiseRelaxation {
    const a = this.alpha;
    if (a > 1) return super.relax(input);
    const n = this.outputSize;
    const lowerSlope = new Float64Array(n);
    const lowerIntercept = new Float64Array(n);
    const upperSlope = new Float64Array(n);
    const upperIntercept = new Float64Array(n);
    const free: number[] = [];
    const { lower: ls, upper: us } = input;
    for (let i = 0; i < n; i++) {
      const l = ls[i]!;
      const u = us[i]!;
      if (u <= 0) {
        lowerSlope[i] = upperSlope[i] = a;
      } else if (l >= 0) {
        lowerSlope[i] = upperSlope[i] = 1;
      } else {
        const chordSlope = (u - a * l) / (u - l);
        upperSlope[i] = chordSlope;
        upperIntercept[i] = a * l - chordSlope * l;
        lowerSlope[i] = chordSlope > 0.5 ? 1 : a;
        free.push(i);
      }
    }
    return { lowerSlope, lowerIntercept, upperSlope, upperIntercept, free: Int32Array.from(free), minSlope: this.minSlope, maxSlope: this.maxSlope };
  }

  lines(l: number, u: number): { lower: Line; upper: Line; free: boolean } {
    const a = this.alpha;
    if (u <= 0) return { lower: line(a, 0), upper: line(a, 0), free: false };
    if (l >= 0) return { lower: line(1, 0), upper: line(1, 0), free: false };
    // The chord from (l, a·l) to (u, u); any line through 0 with slope between a and 1 is the other side.
    const chordSlope = (u - a * l) / (u - l);
    const chord = line(chordSlope, a * l - chordSlope * l);
    const adaptive = line(chordSlope > 0.5 ? 1 : a, 0);
    if (a <= 1) return { lower: adaptive, upper: chord, free: true };
    // alpha > 1 makes the function concave: the chord is below it.
    return { lower: chord, upper: line(u > -l ? 1 : a, 0), free: false };
  }
}

/** relu clipped at `ceiling` (relu6, ReLU({ maxValue })). */
export class ClippedReluBound extends Elementwise {
  constructor(
    kind: string,
    layer: string,
    shape: readonly number[],
    private readonly ceiling: number,
  ) {
    super(kind, layer, shape);
    this.maxSlope = 1;
  }

  f(x: number): number {
    return Math.min(this.ceiling, Math.max(0, x));
  }

  lines(l: number, u: number): { lower: Line; upper: Line; free: boolean } {
    const m = this.ceiling;
    if (u <= 0) return { lower: line(0, 0), upper: line(0, 0), free: false };
    if (l >= m) return { lower: line(0, m), upper: line(0, m), free: false };
    if (l >= 0 && u <= m) return { lower: line(1, 0), upper: line(1, 0), free: false };
    if (l < 0 && u <= m) {
      const s = u / (u - l);
      return { lower: line(s > 0.5 ? 1 : 0, 0), upper: line(s, -s * l), free: true };
    }
    if (l >= 0) {
      // min(x, m) on [l, u] is concave: the chord is below, x or m above.
      const s = (m - l) / (u - l);
      return { lower: line(s, l - s * l), upper: m - l > u - m ? line(1, 0) : line(0, m), free: false };
    }
    return { lower: line(0, 0), upper: line(0, m), free: false };
  }
}

/** sigmoid and tanh: increasing, convex below 0 and concave above, steepest at 0. */
export class SShapedBound extends Elementwise {
  private readonly fn: (x: number) => number;
  private readonly derivative: (x: number) => number;

  constructor(kind: 'sigmoid' | 'tanh', layer: string, shape: readonly number[]) {
    super(kind, layer, shape);
    if (kind === 'sigmoid') {
      this.fn = (x) => 1 / (1 + Math.exp(-x));
      this.derivative = (x) => {
        const s = 1 / (1 + Math.exp(-x));
        return s * (1 - s);
      };
    } else {
      this.fn = Math.tanh;
      this.derivative = (x) => 1 - Math.tanh(x) ** 2;
    }
  }

  f(x: number): number {
    return this.fn(x);
  }

  lines(l: number, u: number): { lower: Line; upper: Line; free: boolean } {
    const fl = this.fn(l);
    const fu = this.fn(u);
    const widen = (lower: Line, upper: Line) => ({
      lower: line(lower.slope, lower.intercept - CURVE_SLACK),
      upper: line(upper.slope, upper.intercept + CURVE_SLACK),
      free: false,
    });
    if (u - l < 1e-12) return widen(line(0, fl), line(0, fu));
    const chordSlope = (fu - fl) / (u - l);
    const chord = line(chordSlope, fl - chordSlope * l);
    const mid = (l + u) / 2;
    const tangentSlope = this.derivative(mid);
    const tangent = line(tangentSlope, this.fn(mid) - tangentSlope * mid);
    if (u <= 0) return widen(tangent, chord);
    if (l >= 0) return widen(chord, tangent);
    // The derivative on [l, u] is smallest at an end, so lines of that slope through the ends hold.
    const s = Math.min(this.derivative(l), this.derivative(u));
    return widen(line(s, fl - s * l), line(s, fu - s * u));
  }
}

interface ConvexFunction {
  f(x: number): number;
  /** A subgradient at x. */
  slope(x: number): number;
  /** Increasing everywhere (elu, softplus, exp); otherwise its minimum is at `lowest`. */
  readonly increasing: boolean;
  readonly lowest?: number;
  /** Evaluated exactly in float64 (abs): no slack needed. */
  readonly exact?: boolean;
}

const CONVEX: Record<string, (alpha: number) => ConvexFunction> = {
  elu: (alpha) => ({ f: (x) => (x > 0 ? x : alpha * Math.expm1(x)), slope: (x) => (x >= 0 ? 1 : alpha * Math.exp(x)), increasing: true }),
  softplus: () => ({ f: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))), slope: (x) => 1 / (1 + Math.exp(-x)), increasing: true }),
  exp: () => ({ f: Math.exp, slope: Math.exp, increasing: true }),
  abs: () => ({ f: Math.abs, slope: (x) => (x >= 0 ? 1 : -1), increasing: false, lowest: 0, exact: true }),
};

/** A convex activation: the chord is above it and any tangent below (at the middle of the interval). */
export class ConvexBound extends Elementwise {
  private readonly fn: ConvexFunction;

  /** `name`: elu (convex only for alpha ≤ 1), softplus, exp or abs. */
  constructor(name: 'elu' | 'softplus' | 'exp' | 'abs', layer: string, shape: readonly number[], alpha = 1) {
    super(name === 'elu' ? `elu(${alpha})` : name, layer, shape);
    this.fn = CONVEX[name]!(alpha);
  }

  f(x: number): number {
    return this.fn.f(x);
  }

  override interval(input: Interval): Interval {
    if (this.fn.increasing) return super.interval(input);
    const lower = new Float64Array(input.lower.length);
    const upper = new Float64Array(input.lower.length);
    const lowest = this.fn.lowest!;
    for (let i = 0; i < input.lower.length; i++) {
      const l = input.lower[i]!;
      const u = input.upper[i]!;
      lower[i] = this.fn.f(Math.min(u, Math.max(l, lowest)));
      upper[i] = Math.max(this.fn.f(l), this.fn.f(u));
    }
    return { lower, upper };
  }

  lines(l: number, u: number): { lower: Line; upper: Line; free: boolean } {
    const slack = this.fn.exact ? 0 : CURVE_SLACK * (1 + Math.abs(this.fn.f(l)) + Math.abs(this.fn.f(u)));
    const fl = this.fn.f(l);
    const fu = this.fn.f(u);
    if (u - l < 1e-12) {
      const low = this.fn.increasing ? fl : this.fn.f(Math.min(u, Math.max(l, this.fn.lowest!)));
      return { lower: line(0, low - slack), upper: line(0, Math.max(fl, fu) + slack), free: false };
    }
    const chordSlope = (fu - fl) / (u - l);
    const mid = (l + u) / 2;
    const s = this.fn.slope(mid);
    return { lower: line(s, this.fn.f(mid) - s * mid - slack), upper: line(chordSlope, fl - chordSlope * l + slack), free: false };
  }
}

/** hardSwish(x) = x·min(max(x + 3, 0), 6)/6: 0 below −3, x above 3, a convex parabola between. */
export class HardSwishBound extends Elementwise {
  constructor(layer: string, shape: readonly number[]) {
    super('hardSwish', layer, shape);
  }

  f(x: number): number {
    return (x * Math.min(Math.max(x + 3, 0), 6)) / 6;
  }

  /** Where f(x) − s·x can be extreme on [l, u]: the ends, the kinks, the parabola's stationary point. */
  private candidates(l: number, u: number, s: number): number[] {
    return [l, u, -3, 3, 3 * s - 1.5].map((x) => Math.min(u, Math.max(l, x)));
  }

  override interval(input: Interval): Interval {
    const lower = new Float64Array(input.lower.length);
    const upper = new Float64Array(input.lower.length);
    for (let i = 0; i < input.lower.length; i++) {
      const values = this.candidates(input.lower[i]!, input.upper[i]!, 0).map((x) => this.f(x));
      lower[i] = Math.min(...values);
      upper[i] = Math.max(...values);
    }
    return { lower, upper };
  }

  lines(l: number, u: number): { lower: Line; upper: Line; free: boolean } {
    const s = u - l < 1e-12 ? 0 : (this.f(u) - this.f(l)) / (u - l);
    const offsets = this.candidates(l, u, s).map((x) => this.f(x) - s * x);
    const slack = CURVE_SLACK * (1 + Math.abs(l) + Math.abs(u));
    return { lower: line(s, Math.min(...offsets) - slack), upper: line(s, Math.max(...offsets) + slack), free: false };
  }
}
