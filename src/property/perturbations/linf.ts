/**
 * L∞ noise: every element moves by up to ε, uniformly at random (Foolbox's
 * LinfAdditiveUniformNoise). Shrinks toward ε = 0 with its pattern fixed.
 */
import * as fc from 'fast-check';
import { checkBudget, checkSeed, described, magnitude, patternSeed } from './arbitraries.js';
import { additiveNoise } from './additive.js';
import { uniformPattern } from './patterns.js';
import { fmt, type Perturbation } from './types.js';

/** x + ε·u with u uniform in [-1, 1) per element (seeded), clipped into the bounds. ‖δ‖∞ ≤ ε. */
export function linfNoise(epsilon: number, seed: number): Perturbation {
  const eps = checkBudget(epsilon, 'linf noise', 'epsilon');
  const s = checkSeed(seed, 'linf noise');
  return additiveNoise('linf', { epsilon: eps, seed: s }, eps, `L∞ uniform noise ε=${fmt(eps)} (seed ${s})`, uniformPattern, s);
}

/** Uniform L∞ noise of any size up to `epsilon`. */
export function linf(epsilon: number): fc.Arbitrary<Perturbation> {
  const budget = checkBudget(epsilon, 'perturbations.linf(epsilon)', 'epsilon');
  return described(
    fc.tuple(magnitude(0, budget, 0), patternSeed).map(([eps, seed]) => linfNoise(eps, seed)),
    `L∞ uniform noise with ε ≤ ${fmt(budget)}`,
  );
}
