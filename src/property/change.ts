/** What a perturbation did to individual inputs: class before → after, and how far it moved them. */
import * as tf from '@tensorflow/tfjs-core';
import { perturbationSizes } from '../norms.js';
import type { Perturbation } from './perturbations/types.js';
import type { Classes } from './batched.js';
import type { Subject } from './subject.js';
import { takeRows } from '../engine/tfjs/rows.js';

export interface Prediction {
  class: number;
  /** Softmax probability of that class. */
  confidence: number;
}

export interface Change {
  /** Index of the input in `on`. */
  input: number;
  /** Its label, when labels were given. */
  label: number | null;
  before: Prediction;
  after: Prediction;
  /** Size of (perturbed − original) for this input, as the model saw it (after clipping). */
  sizes: { linf: number; l2: number; l0: number };
  /** The input and its perturbed version, flattened (shape: the report's inputShape). */
  original: Float32Array;
  perturbed: Float32Array;
}

/**
 * Changes at the given positions (into subject.checked), with `under` the classes the model gave
 * the perturbed inputs. A value changes each input independently of the others, so applying it
 * to the gathered rows reproduces what the model saw.
 */
export async function describeChanges(subject: Subject, value: Perturbation, under: Classes, positions: readonly number[]): Promise<Change[]> {
  if (positions.length === 0) return [];
  const original = takeRows(subject.x, positions);
  const perturbed = value.apply(original, subject.clf.bounds);
  const sizes = await perturbationSizes(original, perturbed);
  const before = (await original.data()) as Float32Array;
  const after = (await perturbed.data()) as Float32Array;
  original.dispose();
  perturbed.dispose();
  const size = before.length / positions.length;
  return positions.map((k, j) => {
    const input = subject.checked[k]!;
    return {
      input,
      label: subject.labels ? subject.labels[input]! : null,
      before: { class: subject.cleanClasses[input]!, confidence: subject.cleanConfidences[input]! },
      after: { class: under.classes[k]!, confidence: under.confidences[k]! },
      sizes: { linf: sizes.linf[j]!, l2: sizes.l2[j]!, l0: sizes.l0[j]! },
      original: before.slice(j * size, (j + 1) * size),
      perturbed: after.slice(j * size, (j + 1) * size),
    };
  });
}

/** Positions whose class under the value differs from the class they must keep. */
export function flippedPositions(subject: Subject, under: Classes): number[] {
  const flips: number[] = [];
  under.classes.forEach((c, k) => {
    if (c !== subject.reference[k]) flips.push(k);
  });
  return flips;
}
