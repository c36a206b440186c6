/**
 * L0 perturbations: k pixels (of NHWC images: whole pixels, every channel) or features set to
 * arbitrary values inside the bounds. Shrinks toward k = 0; with the seed fixed, fewer pixels
 * are a subset of more, so the counterexample is the smallest set of those pixels that breaks
 * the model.
 */
import * as fc from 'fast-check';
import { RobustestError } from '../../errors.js';
import { checkCount, checkSeed, described, patternSeed } from './arbitraries.js';
import { perShape, siteLayout, siteOrder, unitPattern, product } from './patterns.js';
import { replaceSites } from './replace.js';
import { definePerturbation, type Perturbation } from './types.js';

/** `count` seeded pixels (or features) replaced by seeded values uniform in the bounds. */
export function pixelsOf(count: number, seed: number): Perturbation {
  const k = checkCount(count, 'pixels', 'count');
  const s = checkSeed(seed, 'pixels');
  const description = `${k} pixel${k === 1 ? '' : 's'} replaced (seed ${s})`;
  const patterns = perShape((shape) => {
    const { sites, channels } = siteLayout(shape);
    if (k > sites) {
      throw new RobustestError('INVALID_OPTION', `${description}: more pixels than an input has.`, {
        expected: `at most ${sites} pixels`,
        received: String(k),
      });
    }
    const mask = new Float32Array(product(shape));
    const order = siteOrder(s, sites);
    for (let j = 0; j < k; j++) mask.fill(1, order[j]! * channels, (order[j]! + 1) * channels);
    return { mask, unit: unitPattern(s, 'values', mask.length) };
  });
  return definePerturbation({
    kind: 'pixels',
    params: { count: k, seed: s },
    isIdentity: k === 0,
    description,
    apply: (x, bounds) => {
      const { mask, unit } = patterns(x.shape.slice(1));
      return replaceSites(x, bounds, mask, unit);
    },
  });
}

/** Up to `k` pixels (or features) replaced by arbitrary in-bounds values. */
export function pixels(k: number): fc.Arbitrary<Perturbation> {
  const budget = checkCount(k, 'perturbations.pixels(k)', 'k');
  return described(
    fc.tuple(fc.integer({ min: 0, max: budget }), patternSeed).map(([count, seed]) => pixelsOf(count, seed)),
    `up to ${budget} pixel${budget === 1 ? '' : 's'} replaced (L0 ≤ ${budget} pixels)`,
  );
}
