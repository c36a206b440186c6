/**
 * L2 noise: a random direction (seeded, isotropic) scaled to length ε (Foolbox's
 * L2AdditiveGaussianNoise with an exact norm). Shrinks toward ε = 0 with the direction fixed.
 */
import * as fc from 'fast-check';
import { checkBudget, checkSeed, described, magnitude, patternSeed } from './arbitraries.js';
import { additiveNoise } from './additive.js';
import { unitL2Pattern } from './patterns.js';
import { fmt, type Perturbation } from './types.js';

/** x + ε·d with d a seeded unit-L2 direction, clipped into the bounds. ‖δ‖₂ ≤ ε. */
export function l2Noise(epsilon: number, seed: number): Perturbation {
  const eps = checkBudget(epsilon, 'l2 noise', 'epsilon');
  const s = checkSeed(seed, 'l2 noise');
  return additiveNoise('l2', { epsilon: eps, seed: s }, eps, `L2 noise ε=${fmt(eps)} (seed ${s})`, unitL2Pattern, s);
}

/** L2 noise of any length up to `epsilon`. */
export function l2(epsilon: number): fc.Arbitrary<Perturbation> {
  const budget = checkBudget(epsilon, 'perturbations.l2(epsilon)', 'epsilon');
  return described(
    fc.tuple(magnitude(0, budget, 0), patternSeed).map(([eps, seed]) => l2Noise(eps, seed)),
    `L2 noise with ε ≤ ${fmt(budget)}`,
  );
}
