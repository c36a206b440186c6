/**
 * The set a certificate speaks about: the ε-ball around a sample in L∞ or L2, intersected with the
 * classifier's input bounds, and the lower bound of a linear function over it.
 */
import type { Vec } from './ops/bound-op.js';
import type { Support } from './support.js';

export type CertifyNorm = 'linf' | 'l2';

/** A region's arrays are never changed once it is made (its box's centre and half-width are kept per region). */
export interface Region {
  readonly center: Vec;
  /** The box: for L∞ exactly the ball ∩ bounds, for L2 the bounding box of the ball ∩ bounds. */
  readonly lower: Vec;
  readonly upper: Vec;
  readonly norm: CertifyNorm;
  readonly epsilon: number;
}

export function region(center: ArrayLike<number>, epsilon: number, norm: CertifyNorm, bounds: readonly [number, number]): Region {
  const c = Float64Array.from(center);
  const lower = new Float64Array(c.length);
  const upper = new Float64Array(c.length);
  for (let i = 0; i < c.length; i++) {
    lower[i] = Math.max(bounds[0], c[i]! - epsilon);
    upper[i] = Math.min(bounds[1], c[i]! + epsilon);
  }
  return { center: c, lower, upper, norm, epsilon };
}

/** Centre and half-width of a region's box, per region (found on first use). */
const halves = new WeakMap<Region, { mid: Vec; radius: Vec }>();

export function halvesOf(r: Region): { mid: Vec; radius: Vec } {
  let h = halves.get(r);
  if (h) return h;
  const n = r.lower.length;
  h = { mid: new Float64Array(n), radius: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    h.mid[i] = (r.lower[i]! + r.upper[i]!) / 2;
    h.radius[i] = (r.upper[i]! - r.lower[i]!) / 2;
  }
  halves.set(r, h);
  return h;
}

/**
 * min of a·x over the region, and the x attaining it (the derivative of that minimum in a, which
 * α-CROWN follows). The box's minimum is a·m − |a|·r (m, r its centre and half-width): no branch
 * on the sign of each coefficient. For L2 the minimum over the ball and over the box are both
 * lower bounds of the minimum over their intersection; the larger one is kept.
 */
export function minimize(r: Region, a: Vec, argmin?: Vec): number {
  const { lower, upper, center } = r;
  const { mid, radius } = halvesOf(r);
  let box = 0;
  for (let i = 0; i < a.length; i++) box += a[i]! * mid[i]! - Math.abs(a[i]!) * radius[i]!;
  let ball = -Infinity;
  let norm = 0;
  if (r.norm === 'l2') {
    let dot = 0;
    for (let i = 0; i < a.length; i++) {
      dot += a[i]! * center[i]!;
      norm += a[i]! * a[i]!;
    }
    norm = Math.sqrt(norm);
    ball = dot - r.epsilon * norm;
  }
  if (argmin) {
    if (ball > box && norm > 0) for (let i = 0; i < a.length; i++) argmin[i] = r.center[i]! - (r.epsilon * a[i]!) / norm;
    else for (let i = 0; i < a.length; i++) argmin[i] = a[i]! >= 0 ? lower[i]! : upper[i]!;
  }
  return Math.max(box, ball);
}

/** minimize() of an `a` that is zero outside `support` (the same value, from the listed entries only). */
export function minimizeOn(r: Region, a: Vec, support: Support): number {
  if (support.full) return minimize(r, a);
  const { center, epsilon } = r;
  const { mid, radius } = halvesOf(r);
  const { entries, count } = support;
  let box = 0;
  let dot = 0;
  let norm = 0;
  for (let t = 0; t < count; t++) {
    const i = entries[t]!;
    const w = a[i]!;
    box += w * mid[i]! - Math.abs(w) * radius[i]!;
    dot += w * center[i]!;
    norm += w * w;
  }
  return r.norm === 'l2' ? Math.max(box, dot - epsilon * Math.sqrt(norm)) : box;
}
