/**
 * Salt-and-pepper noise: each pixel (every channel of it) or feature is, with probability p, set
 * to the upper bound (salt) or the lower bound (pepper), evenly. Shrinks toward p = 0; with the
 * seed fixed, the pixels hit at a smaller p are a subset of those hit at a larger one.
 */
import * as fc from 'fast-check';
import { checkBudget, checkSeed, described, magnitude, patternSeed } from './arbitraries.js';
import { perShape, product, siteLayout, unitPattern } from './patterns.js';
import { replaceSites } from './replace.js';
import { definePerturbation, fmt, type Perturbation } from './types.js';

export function saltAndPepperOf(probability: number, seed: number): Perturbation {
  const p = checkBudget(probability, 'salt-and-pepper noise', 'probability', 1);
  const s = checkSeed(seed, 'salt-and-pepper noise');
  const patterns = perShape((shape) => {
    const { sites, channels } = siteLayout(shape);
    const hit = unitPattern(s, 'sites', sites);
    const salt = unitPattern(s, 'salt', sites);
    const mask = new Float32Array(product(shape));
    const unit = new Float32Array(mask.length);
    for (let site = 0; site < sites; site++) {
      if (hit[site]! >= p) continue;
      mask.fill(1, site * channels, (site + 1) * channels);
      unit.fill(salt[site]! < 0.5 ? 1 : 0, site * channels, (site + 1) * channels);
    }
    return { mask, unit };
  });
  return definePerturbation({
    kind: 'saltAndPepper',
    params: { probability: p, seed: s },
    isIdentity: p === 0,
    description: `salt-and-pepper noise p=${fmt(p)} (seed ${s})`,
    apply: (x, bounds) => {
      const { mask, unit } = patterns(x.shape.slice(1));
      return replaceSites(x, bounds, mask, unit);
    },
  });
}

/** Salt-and-pepper noise hitting each pixel with any probability up to `p`. */
export function saltAndPepper(p: number): fc.Arbitrary<Perturbation> {
  const budget = checkBudget(p, 'perturbations.saltAndPepper(p)', 'p', 1);
  return described(
    fc.tuple(magnitude(0, budget, 0), patternSeed).map(([probability, seed]) => saltAndPepperOf(probability, seed)),
    `salt-and-pepper noise with p ≤ ${fmt(budget)}`,
  );
}
