/**
 * Contrast: each input scaled about its mean (per channel for NHWC images, as
 * tf.image.adjust_contrast), then clipped into the bounds. Shrinks toward factor 1, or toward the
 * end of [min, max] nearest to 1 when 1 lies outside it.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fc from 'fast-check';
import { RobustestError, show } from '../../errors.js';
import { checkBudget, described, magnitude } from './arbitraries.js';
import { definePerturbation, fmt, type Perturbation } from './types.js';

/** clip(mean + factor·(x − mean)), written x·f + mean·(1 − f) so that factor 1 is exact. */
export function contrastBy(factor: number): Perturbation {
  const f = checkBudget(factor, 'contrast', 'factor');
  return definePerturbation({
    kind: 'contrast',
    params: { factor: f },
    isIdentity: f === 1,
    description: `contrast ×${fmt(f)}`,
    apply: (x, [low, high]) => {
      const axes = x.rank === 4 ? [1, 2] : [...Array(x.rank).keys()].slice(1);
      const mean = tf.mean(x, axes, true);
      return tf.clipByValue(tf.add(tf.mul(x, f), tf.mul(mean, 1 - f)), low, high);
    },
  });
}

/** Contrast factors in [min, max]. */
export function contrast(min: number, max: number): fc.Arbitrary<Perturbation> {
  const low = checkBudget(min, 'perturbations.contrast(min, max)', 'min');
  const high = checkBudget(max, 'perturbations.contrast(min, max)', 'max');
  if (low > high) {
    throw new RobustestError('INVALID_OPTION', 'perturbations.contrast(min, max): min must not exceed max.', {
      expected: 'min ≤ max',
      received: `min ${show(low)}, max ${show(high)}`,
    });
  }
  return described(magnitude(low, high, 1).map(contrastBy), `contrast factors in [${fmt(low)}, ${fmt(high)}]`);
}
