/**
 * A perturbation value: one concrete, deterministic change of an input (a noise pattern at a
 * given magnitude, a shift, a rotation, …). The same value is applied identically to every input
 * of a batch, so a value evaluated on a slice of the inputs gives exactly the rows it gives on the
 * whole set, and a fuzzing run can pack many values into one model call.
 *
 * Staying inside the classifier's bounds is part of every perturbation's definition: results are
 * clipped (or, for pixel replacements, drawn) inside [low, high], so what the model sees is
 * always a valid input and the sizes reported are those of the input it actually saw.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fc from 'fast-check';
import { RobustestError, show, shapeString } from '../../errors.js';
import type { Bounds } from '../../model/classifier.js';

const PERTURBATION = Symbol.for('robustest.perturbation');

export type PerturbationKind =
  | 'linf'
  | 'l2'
  | 'pixels'
  | 'gaussianNoise'
  | 'saltAndPepper'
  | 'brightness'
  | 'contrast'
  | 'rotation'
  | 'translation'
  | 'blur'
  | 'compose';

export type ParamValue = number | string;

export interface Perturbation {
  readonly [PERTURBATION]: true;
  readonly kind: PerturbationKind;
  /** The value's parameters: its magnitude, the seed of its pattern, … */
  readonly params: Readonly<Record<string, ParamValue>>;
  /** The steps of a composition, in order; empty otherwise. */
  readonly parts: readonly Perturbation[];
  /** True at the shrink target: the value leaves every input exactly as it is. */
  readonly isIdentity: boolean;
  /** One line, e.g. `brightness δ=+0.12`. */
  describe(): string;
  /** Applies the value to a batch [N, ...]; the result has the same shape, inside `bounds`. Caller disposes. */
  apply(x: tf.Tensor, bounds: Bounds): tf.Tensor;
}

export interface PerturbationSpec {
  kind: PerturbationKind;
  params: Record<string, ParamValue>;
  parts?: readonly Perturbation[];
  isIdentity: boolean;
  description: string;
  /** Rank the input must have (4 for NHWC images); undefined accepts any rank ≥ 2. */
  rank?: 4;
  /** Runs inside tf.tidy; may create intermediate tensors freely. */
  apply(x: tf.Tensor, bounds: Bounds): tf.Tensor;
}

export function isPerturbation(value: unknown): value is Perturbation {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PERTURBATION] === true;
}

export function definePerturbation(spec: PerturbationSpec): Perturbation {
  const params = Object.freeze({ ...spec.params });
  const value: Perturbation & { [fc.toStringMethod](): string; toString(): string } = {
    [PERTURBATION]: true,
    kind: spec.kind,
    params,
    parts: Object.freeze([...(spec.parts ?? [])]),
    isIdentity: spec.isIdentity,
    describe: () => spec.description,
    apply(x, bounds) {
      checkApplyArguments(x, bounds, spec);
      const out = tf.tidy(() => spec.apply(x, bounds));
      return out;
    },
    // fast-check prints counterexamples of users' own properties with this.
    [fc.toStringMethod]: () => spec.description,
    toString: () => spec.description,
  };
  return Object.freeze(value);
}

function checkApplyArguments(x: tf.Tensor, bounds: Bounds, spec: PerturbationSpec): void {
  if (!(x instanceof tf.Tensor) || x.isDisposed) {
    throw new RobustestError('INVALID_SHAPE', `${spec.description}: apply() takes a live batch tensor.`, {
      expected: 'a tf.Tensor [N, ...]',
      received: x instanceof tf.Tensor ? 'a disposed tensor' : show(x),
    });
  }
  if (spec.rank !== undefined ? x.rank !== spec.rank : x.rank < 2) {
    throw new RobustestError('INVALID_SHAPE', `${spec.description} applies to ${spec.rank === 4 ? 'images' : 'batches'}.`, {
      expected: spec.rank === 4 ? 'NHWC images [N, height, width, channels]' : '[N, ...features]',
      received: shapeString(x.shape),
    });
  }
  if (!Array.isArray(bounds) || bounds.length !== 2 || !bounds.every(Number.isFinite) || !(bounds[0] < bounds[1])) {
    throw new RobustestError('INVALID_OPTION', `${spec.description}: apply() needs the input bounds.`, {
      expected: '[low, high] with low < high',
      received: show(bounds),
    });
  }
}

/** Where shifted or rotated images take values from outside the frame. */
export type Fill = 'edge' | 'low' | 'high' | number;

export function checkFill(fill: unknown, where: string): Fill {
  if (fill === 'edge' || fill === 'low' || fill === 'high' || (typeof fill === 'number' && Number.isFinite(fill))) return fill;
  throw new RobustestError('INVALID_OPTION', `${where}: unknown fill.`, {
    expected: "'edge' | 'low' | 'high' | a number inside the bounds",
    received: show(fill),
  });
}

/** The constant a fill stands for, or null for edge replication. */
export function fillValue(fill: Fill, bounds: Bounds, where: string): number | null {
  if (fill === 'edge') return null;
  if (fill === 'low') return bounds[0];
  if (fill === 'high') return bounds[1];
  if (fill < bounds[0] || fill > bounds[1]) {
    throw new RobustestError('OUT_OF_BOUNDS', `${where}: the fill value lies outside the input bounds.`, {
      expected: `a number in [${bounds[0]}, ${bounds[1]}]`,
      received: String(fill),
    });
  }
  return fill;
}

/** A number for descriptions: four significant digits, no trailing zeros. */
export function fmt(value: number, signed = false): string {
  const text = Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(4)));
  return signed && value > 0 ? `+${text}` : text;
}

/** Per-sample element count of a batch. */
export function sizeOf(x: tf.Tensor): number {
  return x.size / x.shape[0];
}

/** A constant pattern of one input's shape, broadcast over the batch. */
export function patternTensor(x: tf.Tensor, pattern: Float32Array): tf.Tensor {
  return tf.tensor(pattern, [1, ...x.shape.slice(1)], 'float32');
}
