/**
 * Counterexamples: the samples an attack broke, with the size of each perturbation in L∞, L2 and
 * L0, computed from the report's adversarial inputs and the original inputs.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RobustnessReport, SampleOutcome } from '../evaluate.js';
import type { Samples } from '../samples.js';
import { amplification, type PictureRow } from './picture.js';

/** Tolerance when comparing a breaking ε with the ε asked about. */
const EPSILON_TOLERANCE = 1e-9;

export interface Counterexample {
  index: number;
  label: number;
  adversarialClass: number;
  adversarialConfidence: number | null;
  /** Smallest listed ε at which the sample broke (null for a minimization run without ε). */
  breakingEpsilon: number | null;
  /** Size in the attack's norm, as the attack measured it. */
  distance: number;
  brokenBy: string | null;
  /** Perturbation sizes; null when the original inputs are not known. */
  linf: number | null;
  l2: number | null;
  l0: number | null;
  original: Float32Array | null;
  adversarial: Float32Array;
}

/**
 * Samples that were classified correctly and broken by an attack at `epsilon` (any ε when
 * undefined), in sample order. `inputs` are the originals, flattened row-major.
 */
export function counterexamples(report: RobustnessReport, inputs: Float32Array | null, epsilon?: number): Counterexample[] {
  const size = report.inputShape.reduce((a, b) => a * b, 1);
  return report.samples.filter((s) => isBrokenAt(s, epsilon)).map((s) => {
    const adversarial = s.adversarial!;
    const original = inputs ? inputs.subarray(s.index * size, (s.index + 1) * size) : null;
    const sizes = original ? perturbationNorms(original, adversarial) : { linf: null, l2: null, l0: null };
    return {
      index: s.index,
      label: s.label,
      adversarialClass: s.adversarialClass!,
      adversarialConfidence: s.adversarialConfidence,
      breakingEpsilon: s.breakingEpsilon,
      distance: s.distance!,
      brokenBy: s.brokenBy,
      ...sizes,
      original,
      adversarial,
    };
  });
}

/** A correctly classified sample that an attack broke at or below `epsilon`. */
export function isBrokenAt(sample: SampleOutcome, epsilon: number | undefined): boolean {
  if (!sample.correct || sample.adversarial === null) return false;
  if (epsilon === undefined) return true;
  return sample.breakingEpsilon !== null && sample.breakingEpsilon <= epsilon + EPSILON_TOLERANCE;
}

export function perturbationNorms(original: ArrayLike<number>, adversarial: ArrayLike<number>): { linf: number; l2: number; l0: number } {
  let linf = 0;
  let squares = 0;
  let l0 = 0;
  for (let i = 0; i < original.length; i++) {
    const d = Math.abs(adversarial[i]! - original[i]!);
    if (d > linf) linf = d;
    squares += d * d;
    if (d !== 0) l0++;
  }
  return { linf, l2: Math.sqrt(squares), l0 };
}

/** The inputs of `samples`, flattened row-major, without creating tensors. */
export async function flattenInputs(inputs: Samples['inputs']): Promise<Float32Array> {
  if (inputs instanceof tf.Tensor) {
    const data = await inputs.data();
    return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
  }
  if (inputs instanceof Float32Array) return inputs;
  const out: number[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) for (const child of node) walk(child);
    else out.push(node as number);
  };
  walk(inputs);
  return Float32Array.from(out);
}

/** One input as a counterexample picture shows it, whichever matcher found it. */
export interface DrawnExample {
  /** Position of the input in the samples. */
  index: number;
  /** Class before (the label, or the clean prediction) and after the perturbation. */
  from: number;
  to: number;
  /** Probability of `to` on the changed input, when known. */
  confidence: number | null;
  original: ArrayLike<number>;
  changed: ArrayLike<number>;
}

/**
 * Picture rows in the one caption style of every robustness picture:
 *   #12  class 3 → 8 (p 0.912)
 *   L∞ 0.100  L2 1.234  L0 87  shown ×5.00
 */
export function pictureRows(examples: readonly DrawnExample[], bounds: readonly [number, number]): PictureRow[] {
  return examples.map((e) => {
    const n = perturbationNorms(e.original, e.changed);
    return {
      original: e.original,
      adversarial: e.changed,
      caption: [
        `#${e.index}  class ${e.from} → ${e.to}${e.confidence === null ? '' : ` (p ${e.confidence.toFixed(3)})`}`,
        `L∞ ${magnitude(n.linf)}  L2 ${magnitude(n.l2)}  L0 ${n.l0}  shown ×${amplification(e.original, e.changed, bounds).toPrecision(3)}`,
      ],
    };
  });
}

/** A perturbation size, readable from 1e-6 to 1e3 (as in failure messages). */
function magnitude(v: number): string {
  if (v === 0) return '0';
  return Math.abs(v) >= 0.001 ? v.toFixed(3) : v.toExponential(2);
}
