/**
 * Square Attack (Andriushchenko et al. 2020): random search over square-shaped updates, scored
 * by the margin loss only (no gradients). L∞: each square is set to ±ε per channel, starting
 * from vertical stripes. L2: each step moves mass between two windows with a pseudo-Gaussian
 * profile, keeping ‖δ‖₂ = ε. The square's area shrinks on the paper's schedule (`p_init`
 * halved at fixed fractions of the query budget). A candidate is kept only if it lowers the
 * margin; a sample stops at its first adversarial. The search itself is square-search.ts; the
 * proposals are square-linf.ts and square-l2.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { NORM_SYMBOL } from '../norms.js';
import { defineAttack } from './runner.js';
import { checkCriterion, checkInteger, checkKnownOptions, checkNorm, checkNumber, checkTarget } from './options.js';
import { describeTarget } from './query/oracle.js';
import { L2Squares } from './square-l2.js';
import { LinfSquares } from './square-linf.js';
import type { Attack, CriterionSpec, TargetSpec } from './types.js';

export { squareFraction } from './square-search.js';
export { pseudoGaussian, splitBump } from './square-l2.js';

export interface SquareOptions {
  norm?: 'linf' | 'l2';
  /** Model queries per sample, the first one included. Default 5000. */
  queries?: number;
  /** Initial fraction of the input covered by a square. Default 0.8 (AutoAttack's value). */
  p_init?: number;
  target?: TargetSpec;
  criterion?: CriterionSpec;
}

export const SQUARE_DEFAULTS = { norm: 'linf', queries: 5000, p_init: 0.8 } as const;

export function square(options: SquareOptions = {}): Attack {
  checkKnownOptions(options, ['norm', 'queries', 'p_init', 'target', 'criterion'], 'square');
  const norm = checkNorm(options.norm ?? SQUARE_DEFAULTS.norm, ['linf', 'l2'], 'square');
  const queries = checkInteger(options.queries ?? SQUARE_DEFAULTS.queries, 'queries', 'square', 1);
  const pInit = checkNumber(options.p_init ?? SQUARE_DEFAULTS.p_init, 'p_init', 'square', 0, 1);
  if (pInit === 0) checkNumber(pInit, 'p_init', 'square', 0, 1, true);
  const target = checkTarget(options.target, 'square');
  const criterion = checkCriterion(options.criterion, target, { targeted: true, topK: true }, 'square');
  return defineAttack({
    name: 'Square',
    norm,
    kind: 'fixed-epsilon',
    requiresGradients: false,
    options: { norm, queries, p_init: pInit, target, criterion },
    describe: (o) => `Square (${NORM_SYMBOL[norm]}, ${queries} queries, p_init ${pInit}${describeTarget(o.target)})`,
    async perturb(ctx) {
      const originals = (await ctx.x.data()) as Float32Array;
      const Search = norm === 'linf' ? LinfSquares : L2Squares;
      const best = await new Search(ctx, originals, queries, ctx.epsilon!, pInit).run();
      return tf.tensor(best, ctx.x.shape, 'float32');
    },
  });
}
