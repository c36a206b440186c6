/** Gaussian noise of standard deviation σ per element. Shrinks toward σ = 0 with its pattern fixed. */
import * as fc from 'fast-check';
import { checkBudget, checkSeed, described, magnitude, patternSeed } from './arbitraries.js';
import { additiveNoise } from './additive.js';
import { normalPattern } from './patterns.js';
import { fmt, type Perturbation } from './types.js';

/** x + σ·n with n standard normal per element (seeded), clipped into the bounds. */
export function gaussianNoiseOf(sigma: number, seed: number): Perturbation {
  const std = checkBudget(sigma, 'gaussian noise', 'sigma');
  const s = checkSeed(seed, 'gaussian noise');
  return additiveNoise('gaussianNoise', { sigma: std, seed: s }, std, `Gaussian noise σ=${fmt(std)} (seed ${s})`, normalPattern, s);
}

/** Gaussian noise of any standard deviation up to `sigma`. */
export function gaussianNoise(sigma: number): fc.Arbitrary<Perturbation> {
  const budget = checkBudget(sigma, 'perturbations.gaussianNoise(sigma)', 'sigma');
  return described(
    fc.tuple(magnitude(0, budget, 0), patternSeed).map(([std, seed]) => gaussianNoiseOf(std, seed)),
    `Gaussian noise with σ ≤ ${fmt(budget)}`,
  );
}
