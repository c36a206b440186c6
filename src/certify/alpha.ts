/**
 * α-CROWN for one specification row: the lower slopes of unstable relus are free in [0, 1] (any
 * line through the origin between the two pieces is a valid lower bound), so the slopes of every
 * relu layer before the row's slot are optimised for this row by projected gradient ascent with
 * Adam, as auto_LiRPA's optimize_bound_args do (20 steps, learning rate 0.5 decaying by 0.98 a
 * step). A row is a margin, or one side of an intermediate neuron (margins.ts optimises those
 * too, each for itself). Every iterate is a sound bound; the best is kept, starting from CROWN's
 * own slopes, so the result is never below CROWN's with the same relaxations.
 */
import type { Region } from './region.js';
import type { BoundPropagation, LinearBounds, SlopeOverride } from './propagation.js';
import type { ElementwiseRelaxation, Vec } from './ops/bound-op.js';

export interface AlphaOptions {
  iterations: number;
  learningRate: number;
  /** Multiplies the learning rate after each step. */
  decay: number;
  /** Also optimise the bounds of unstable intermediate neurons (each for itself), not only the margins. */
  intermediate: boolean;
}

export const ALPHA_DEFAULTS: AlphaOptions = { iterations: 20, learningRate: 0.5, decay: 0.98, intermediate: true };

export function alphaLowerBound(prop: BoundPropagation, slot: number, c: Vec, r: Region, state: LinearBounds, options: AlphaOptions = ALPHA_DEFAULTS): number {
  const slopes: SlopeOverride = new Map();
  const limits = new Map<number, ElementwiseRelaxation>();
  state.relaxations.forEach((relaxation, i) => {
    if (!relaxation || !('free' in relaxation) || relaxation.free.length === 0) return;
    slopes.set(i, Float64Array.from(relaxation.lowerSlope));
    limits.set(i, relaxation);
  });
  if (slopes.size === 0) return prop.lowerBound(slot, c, r, state);
  const moments = new Map([...slopes.keys()].map((i) => [i, { m: new Float64Array(slopes.get(i)!.length), v: new Float64Array(slopes.get(i)!.length) }]));
  const beta1 = 0.9;
  const beta2 = 0.999;
  let best = -Infinity;
  let rate = options.learningRate;
  for (let step = 1; step <= options.iterations + 1; step++) {
    const { bound, gradient } = prop.lowerBoundWithGradient(slot, c, r, state, slopes);
    best = Math.max(best, bound);
    if (step > options.iterations) break;
    for (const [i, g] of gradient) {
      const s = slopes.get(i)!;
      const { m, v } = moments.get(i)!;
      const relaxation = limits.get(i)!;
      for (const j of relaxation.free) {
        m[j] = beta1 * m[j]! + (1 - beta1) * g[j]!;
        v[j] = beta2 * v[j]! + (1 - beta2) * g[j]! * g[j]!;
        const mHat = m[j]! / (1 - beta1 ** step);
        const vHat = v[j]! / (1 - beta2 ** step);
        s[j] = Math.min(relaxation.maxSlope, Math.max(relaxation.minSlope, s[j]! + (rate * mHat) / (Math.sqrt(vHat) + 1e-8)));
      }
    }
    rate *= options.decay;
  }
  return best;
}
