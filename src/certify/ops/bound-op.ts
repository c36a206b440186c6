/**
 * One node of a bounded network: what bound propagation needs from a model graph node. Values are
 * flat, per-sample, channels-last, in float64 (the weights are read once from their float32
 * tensors). One graph node may become several bound nodes (hardSigmoid: a scale, then a clip).
 *
 * Affine nodes (y = L(x) + b) give interval propagation and the CROWN backward pass from L alone.
 * Nonlinear nodes (activations, max pooling) are single-input; they hold a linear relaxation
 * built from their input's bounds, and the backward pass picks, per coefficient sign, the side
 * that keeps a lower bound sound.
 */
import type { Support } from '../support.js';

export type Vec = Float64Array;

/**
 * Where an op puts arrays it returns: fresh zeroed ones by default, or reused ones of undefined
 * content (the op writes every value) when the caller drops the result before the next call.
 */
export type Allocate = (n: number) => Float64Array;

export const fresh: Allocate = (n) => new Float64Array(n);

export interface Interval {
  readonly lower: Vec;
  readonly upper: Vec;
}

export interface AffineOp {
  readonly affine: true;
  /** What it computes and the graph node it came from (its `source`), for messages. */
  readonly kind: string;
  readonly layer: string;
  /**
   * True for single-input ops that only move values (reshape, transpose, slice, pad): the interval
   * image of a box is then exact, and bounds pass through them without a backward pass.
   */
  readonly exactInterval?: boolean;
  readonly outputShape: readonly number[];
  readonly outputSize: number;
  /** out = L(inputs), or |L|(inputs) (every weight by its absolute value) when `abs`. */
  linear(inputs: readonly Vec[], out: Vec, abs: boolean): void;
  /** b, or null when zero. */
  readonly bias: Vec | null;
  /** Adds aᵀL into each input's coefficients (transposed product); skips zeros of `a`. */
  transpose(a: Vec, into: readonly Vec[]): void;
  /**
   * transpose() of `rows` coefficient vectors laid end to end (each input's coefficients likewise),
   * for ops with a faster path than one row at a time.
   */
  transposeRows?(a: Vec, rows: number, into: readonly Vec[]): void;
  /**
   * transposeRows() for a single-input op, reading only the output entries listed in `from` (the
   * rest are zero in every row) and listing in `to` every input entry it may write.
   */
  transposeSparse?(a: Vec, rows: number, from: Support, into: Vec, to: Support): void;
  /**
   * IBP of `batch` boxes laid end to end (single-input ops with a faster path than one box at a
   * time: the weights are read once for several samples, centre and radius in one pass).
   */
  intervalBatch?(input: Interval, batch: number, allocate?: Allocate): Interval;
  /** L(x) + b for `batch` vectors laid end to end (single-input ops with a faster path). */
  linearBatch?(input: Vec, batch: number, allocate?: Allocate): Vec;
}

/** y ≥ lowerSlope·x + lowerIntercept and y ≤ upperSlope·x + upperIntercept, elementwise. */
export interface ElementwiseRelaxation {
  readonly lowerSlope: Vec;
  readonly lowerIntercept: Vec;
  readonly upperSlope: Vec;
  readonly upperIntercept: Vec;
  /** Indices whose lower slope α-CROWN may choose freely in [minSlope, maxSlope]. */
  readonly free: Int32Array;
  readonly minSlope: number;
  readonly maxSlope: number;
}

export interface ActivationBoundOp {
  readonly affine: false;
  readonly elementwise: true;
  readonly kind: string;
  readonly layer: string;
  readonly outputShape: readonly number[];
  readonly outputSize: number;
  /**
   * True when an input known to lie on one side of every kink is relaxed the same however tight
   * its bounds are (relu, leaky relu): bounds for such inputs need no linear bound of their own.
   */
  readonly piecewiseLinear?: boolean;
  evaluate(x: Vec, out: Vec): void;
  /** Exact image of a box, of any length (several samples' boxes laid end to end too). */
  interval(input: Interval, allocate?: Allocate): Interval;
  relax(input: Interval): ElementwiseRelaxation;
}

/**
 * Max pooling: y ≥ x[argmax of the lower bounds]; y = that input when its lower bound beats
 * every other upper bound, else y ≤ the window's largest upper bound (auto_LiRPA's relaxation).
 */
export interface PoolRelaxation {
  /** Per output: the input index with the largest lower bound (the first of those equal up to rounding). */
  readonly chosen: Int32Array;
  /** Per output: 1 where the window is decided (y equals the chosen input). */
  readonly exact: Uint8Array;
  /** Per output: the window's largest upper bound. */
  readonly ceiling: Vec;
}

export interface MaxPoolBoundOp {
  readonly affine: false;
  readonly elementwise: false;
  readonly kind: string;
  readonly layer: string;
  readonly outputShape: readonly number[];
  readonly outputSize: number;
  evaluate(x: Vec, out: Vec): void;
  interval(input: Interval): Interval;
  /** interval() of `batch` boxes laid end to end. */
  intervalBatch?(input: Interval, batch: number, allocate?: Allocate): Interval;
  relax(input: Interval): PoolRelaxation;
}

export type BoundOp = AffineOp | ActivationBoundOp | MaxPoolBoundOp;

export function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The weights of a tfjs tensor as float64. */
export function float64(values: ArrayLike<number>): Float64Array {
  return Float64Array.from(values as ArrayLike<number>);
}
