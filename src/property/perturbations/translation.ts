/**
 * Translation of NHWC images by whole pixels: content moves dx columns right and dy rows down.
 * Each of dx and dy shrinks toward 0.
 */
import * as fc from 'fast-check';
import { checkCount, checkSignedInteger, described } from './arbitraries.js';
import type { GeometryOptions } from './rotation.js';
import { checkFill, definePerturbation, type Perturbation } from './types.js';
import { warp } from './warp.js';

export function translationBy(dx: number, dy = 0, options: GeometryOptions = {}): Perturbation {
  const x = checkSignedInteger(dx, 'translation', 'dx');
  const y = checkSignedInteger(dy, 'translation', 'dy');
  const fill = checkFill(options.fill ?? 'edge', 'translation');
  const description = `translation dx=${x} dy=${y}${fill === 'edge' ? '' : ` (fill ${fill})`}`;
  return definePerturbation({
    kind: 'translation',
    params: { dx: x, dy: y, fill },
    isIdentity: x === 0 && y === 0,
    description,
    rank: 4,
    apply: (input, bounds) => warp(input, bounds, (i, j) => [i - y, j - x], fill, description),
  });
}

/** Translations by up to `pixels` in each direction. */
export function translation(pixels: number, options: GeometryOptions = {}): fc.Arbitrary<Perturbation> {
  const budget = checkCount(pixels, 'perturbations.translation(pixels)', 'pixels');
  const fill = checkFill(options.fill ?? 'edge', 'perturbations.translation(pixels)');
  const shift = fc.integer({ min: -budget, max: budget });
  return described(
    fc.tuple(shift, shift).map(([dx, dy]) => translationBy(dx, dy, { fill })),
    `translations by up to ${budget} pixel${budget === 1 ? '' : 's'} each way`,
  );
}
