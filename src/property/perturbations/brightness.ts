/** Brightness: every element shifted by δ, clipped into the bounds. Shrinks toward δ = 0. */
import * as tf from '@tensorflow/tfjs-core';
import * as fc from 'fast-check';
import { checkBudget, checkSignedNumber, described, magnitude } from './arbitraries.js';
import { definePerturbation, fmt, type Perturbation } from './types.js';

/** clip(x + delta). */
export function brightnessBy(delta: number): Perturbation {
  const d = checkSignedNumber(delta, 'brightness', 'delta');
  return definePerturbation({
    kind: 'brightness',
    params: { delta: d },
    isIdentity: d === 0,
    description: `brightness δ=${fmt(d, true)}`,
    apply: (x, [low, high]) => tf.clipByValue(tf.add(x, d), low, high),
  });
}

/** A brightness shift of any δ in [-delta, delta]. */
export function brightness(delta: number): fc.Arbitrary<Perturbation> {
  const budget = checkBudget(delta, 'perturbations.brightness(delta)', 'delta');
  return described(magnitude(-budget, budget, 0).map(brightnessBy), `brightness shifts with |δ| ≤ ${fmt(budget)}`);
}
