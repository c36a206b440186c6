/**
 * α-CROWN for one specification row: the lower slopes of unstable relus are free in [0, 1] (any
 * line through the origin between the two pieces is a valid lower bound), so they are optimised
 * for this row by projected gradient ascent with Adam, as auto_LiRPA does (20 steps, learning
 * rate 0.5). Intermediate bounds stay CROWN's. Every iterate is a sound bound; the best is
 * kept, starting from CROWN's own slopes, so the result is never below CROWN.
 */
import type { Region } from './region.js';
import type { BoundPropagation, LinearBounds, SlopeOverride } from './propagation.js';
import type { ElementwiseRelaxation, Vec } from './ops/bound-op.js';

export interface AlphaOptions {
  iterations: number;
  learningRate: number;
}

export const ALPHA_DEFAULTS: AlphaOptions = { iterations: 20, learningRate: 0.5 };

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
        s[j] = Math.min(relaxation.maxSlope, Math.max(relaxation.minSlope, s[j]! + (options.learningRate * mHat) / (Math.sqrt(vHat) + 1e-8)));
      }
    }
  }
  return best;
}
