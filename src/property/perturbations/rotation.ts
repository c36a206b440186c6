/**
 * Rotation of NHWC images about their centre, bilinear, counter-clockwise for positive angles
 * (as seen with row 0 at the top). Shrinks toward 0°.
 */
import * as fc from 'fast-check';
import { checkBudget, checkSignedNumber, described, magnitude } from './arbitraries.js';
import { checkFill, definePerturbation, fmt, type Fill, type Perturbation } from './types.js';
import { warp } from './warp.js';

export interface GeometryOptions {
  /** Values for pixels that come from outside the frame. Default 'edge' (nearest edge pixel). */
  fill?: Fill;
}

export function rotationBy(degrees: number, options: GeometryOptions = {}): Perturbation {
  const angle = checkSignedNumber(degrees, 'rotation', 'degrees');
  const fill = checkFill(options.fill ?? 'edge', 'rotation');
  const description = `rotation ${fmt(angle, true)}°${fill === 'edge' ? '' : ` (fill ${fill})`}`;
  const radians = (angle * Math.PI) / 180;
  const cos = Math.cos(radians);
  const sin = Math.sin(radians);
  return definePerturbation({
    kind: 'rotation',
    params: { degrees: angle, fill },
    isIdentity: angle === 0,
    description,
    rank: 4,
    apply: (x, bounds) => {
      const cy = (x.shape[1]! - 1) / 2;
      const cx = (x.shape[2]! - 1) / 2;
      return warp(
        x,
        bounds,
        (i, j) => {
          const dy = i - cy;
          const dx = j - cx;
          return [cy + sin * dx + cos * dy, cx + cos * dx - sin * dy];
        },
        fill,
        description,
      );
    },
  });
}

/** Rotations by any angle in [-degrees, degrees]. */
export function rotation(degrees: number, options: GeometryOptions = {}): fc.Arbitrary<Perturbation> {
  const budget = checkBudget(degrees, 'perturbations.rotation(degrees)', 'degrees', 180);
  const fill = checkFill(options.fill ?? 'edge', 'perturbations.rotation(degrees)');
  return described(
    magnitude(-budget, budget, 0).map((angle) => rotationBy(angle, { fill })),
    `rotations by up to ±${fmt(budget)}°`,
  );
}
