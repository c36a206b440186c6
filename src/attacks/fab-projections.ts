/**
 * FAB's projections (Croce & Hein 2020, `fab_projections.py` of the AutoAttack reference):
 * the smallest perturbation d, in L∞, L2 or L1, that puts t + d on the hyperplane
 * w·z = b while keeping t + d inside the unit box. Where the hyperplane cannot be reached
 * inside the box, d goes to the box corner that gets closest to it, as the reference does.
 * One sample at a time, on plain arrays. The reference sorts the coordinates and bisects over
 * them; L∞ and L2 here find the one breakpoint that matters by selection (fab-breakpoints.ts),
 * L1 sorts. FAB runs two of these per sample and step, so the working arrays are reused from
 * call to call (JavaScript is single-threaded, and no call awaits) and the step is written into
 * the caller's array.
 */

import { breakpointBuffers, searchBreakpoint } from './fab-breakpoints.js';

export type ProjectionNorm = 'linf' | 'l2' | 'l1';

/**
 * The projection of `t` (in [0, 1]^n) onto {z : w·z = b} ∩ [0, 1]^n in `norm`, as the step d,
 * written into `out` when given.
 */
export function projectOntoHyperplane(norm: ProjectionNorm, t: ArrayLike<number>, w: ArrayLike<number>, b: number, out?: Float64Array): Float64Array {
  switch (norm) {
    case 'linf':
      return projectLinf(t, w, b, out);
    case 'l2':
      return projectL2(t, w, b, out);
    case 'l1':
      return projectL1(t, w, b, out);
  }
}

/** Working arrays shared by the projections, grown to the largest n seen. */
type Eight<T> = [T, T, T, T, T, T, T, T];

class Workspace {
  private size = -1;
  f = [] as unknown as Eight<Float64Array>;
  i = [] as unknown as [Int32Array, Int32Array];

  ensure(n: number): this {
    if (n > this.size) {
      this.size = n;
      this.f = Array.from({ length: 8 }, () => new Float64Array(n + 1)) as Eight<Float64Array>;
      this.i = [new Int32Array(n), new Int32Array(n)];
    }
    return this;
  }
}
const work = new Workspace();

function result(out: Float64Array | undefined, n: number): Float64Array {
  if (out === undefined) return new Float64Array(n);
  if (out.length !== n) throw new Error(`projection output of length ${out.length} for ${n} coordinates`);
  return out;
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>, n = a.length): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Indices that sort `v` ascending. A quicksort on a copy of the keys that moves the indices
 * along: typed-array sorts with a comparator call a closure per comparison, and this runs twice
 * per sample and FAB step. `keys` and `idx` are working space of at least n entries; the
 * indices are returned in `idx`.
 */
export function argsort(v: ArrayLike<number>, n = v.length, keys: Float64Array = new Float64Array(n), idx: Int32Array = new Int32Array(n)): Int32Array {
  for (let i = 0; i < n; i++) {
    keys[i] = v[i]!;
    idx[i] = i;
  }
  const stack: number[] = [0, n - 1];
  while (stack.length > 0) {
    let hi = stack.pop()!;
    let lo = stack.pop()!;
    while (hi - lo > 16) {
      const mid = (lo + hi) >>> 1;
      // Median of three as the pivot.
      if (keys[mid]! < keys[lo]!) swap(keys, idx, mid, lo);
      if (keys[hi]! < keys[lo]!) swap(keys, idx, hi, lo);
      if (keys[hi]! < keys[mid]!) swap(keys, idx, hi, mid);
      const pivot = keys[mid]!;
      let i = lo;
      let j = hi;
      while (i <= j) {
        while (keys[i]! < pivot) i++;
        while (keys[j]! > pivot) j--;
        if (i <= j) swap(keys, idx, i++, j--);
      }
      // Recurse into the smaller part, loop on the larger.
      if (j - lo < hi - i) {
        stack.push(i, hi);
        hi = j;
      } else {
        stack.push(lo, j);
        lo = i;
      }
    }
    for (let i = lo + 1; i <= hi; i++) {
      const key = keys[i]!;
      const index = idx[i]!;
      let j = i - 1;
      while (j >= lo && keys[j]! > key) {
        keys[j + 1] = keys[j]!;
        idx[j + 1] = idx[j]!;
        j--;
      }
      keys[j + 1] = key;
      idx[j + 1] = index;
    }
  }
  return idx;
}

function swap(keys: Float64Array, idx: Int32Array, a: number, b: number): void {
  const k = keys[a]!;
  keys[a] = keys[b]!;
  keys[b] = k;
  const i = idx[a]!;
  idx[a] = idx[b]!;
  idx[b] = i;
}

/** A finite number, or 0: a degenerate hyperplane (w = 0) yields no step. */
function finite(v: number): number {
  return Number.isFinite(v) ? v : 0;
}

export function projectLinf(t: ArrayLike<number>, w: ArrayLike<number>, b: number, out?: Float64Array): Float64Array {
  const d = result(out, t.length);
  stepLinf(t, w, dot(w, t), b, d);
  return d;
}

export function projectL2(t: ArrayLike<number>, w: ArrayLike<number>, b: number, out?: Float64Array): Float64Array {
  const d = result(out, t.length);
  stepL2(t, w, dot(w, t), b, d);
  return d;
}

/**
 * FAB's form of a projection: the step into `d` (of t's length), from w·t already summed by the
 * caller in index order, returning the step's size in the norm.
 */
export function projectionStep(norm: ProjectionNorm, t: ArrayLike<number>, w: ArrayLike<number>, wt: number, b: number, d: Float64Array): number {
  switch (norm) {
    case 'linf':
      return stepLinf(t, w, wt, b, d);
    case 'l2':
      return stepL2(t, w, wt, b, d);
    case 'l1': {
      projectL1(t, w, b, d);
      let size = 0;
      for (let i = 0; i < d.length; i++) size += Math.abs(d[i]!);
      return size;
    }
  }
}

/**
 * L∞: every coordinate moves by the same λ towards its box face in the direction of −w, and
 * stops at the face; λ is where Σ |w_i| · min(p_i, λ) reaches the hyperplane, p_i being the
 * room of coordinate i. Returns max |d_i|.
 */
function stepLinf(t: ArrayLike<number>, w0: ArrayLike<number>, wt: number, b0: number, d: Float64Array): number {
  const n = t.length;
  const sign = wt - b0 >= 0 ? 1 : -1;
  // w·t after the flip: negation is exact, so this is the flipped sum bit for bit.
  const b = b0 * sign - sign * wt;
  // Per coordinate: the room p_i towards the face that −w points to (1 − t_i when w_i < 0, t_i
  // otherwise), the step d_i to that face, and the weight |w_i|. The candidates of the search are
  // the coordinates with weight and room: one without room (p_i = 0) is never where
  // Σ |w_i| · min(p_i, λ) overshoots −b ≥ 0, and adds nothing to the sums.
  const { keys, weights } = breakpointBuffers(n);
  let m = 0;
  let pMin = Infinity;
  let weight = 0;
  let bd = 0;
  for (let i = 0; i < n; i++) {
    const wi = w0[i]! * sign;
    const ti = t[i]!;
    // Signs of w are a coin toss per coordinate: no branch (+bool) where they decide.
    const a = +(wi < 0);
    const pi = a - ti * (2 * a - 1);
    if (pi < pMin) pMin = pi;
    const di = wi !== 0 ? a - ti : 0;
    d[i] = di;
    bd += wi * di;
    const vi = Math.abs(wi);
    weight += vi;
    keys[m] = pi;
    weights[m] = vi;
    m += +(vi !== 0) & +(pi !== 0);
  }
  // −b is what Σ |w_i| · min(p_i, λ) has to reach; b − bd > 0: the full corner step reaches it.
  let size = 0;
  if (b + weight * pMin > 0) {
    // Even the smallest room is more than enough: every coordinate moves by λ.
    const lambda = Math.max(finite(-b / weight), 0);
    for (let i = 0; i < n; i++) {
      const wi = w0[i]! * sign;
      const di = wi === 0 ? 0 : wi < 0 ? lambda : -lambda;
      d[i] = di;
      size = Math.max(size, Math.abs(di));
    }
  } else if (b - bd > 0) {
    // The smallest room that overshoots; λ lies on the linear piece just below it.
    const at = searchBreakpoint(n, m, 0, -b, 'above');
    const lambda = Number.isNaN(at.at) ? largestRoom(d, w0, n) : Math.max(finite(at.at - (at.value + b) / at.slope), 0);
    // d_i = 1 − t_i ≥ 0 where w_i < 0, −t_i ≤ 0 elsewhere, capped at λ in size. Whether it is
    // capped is a coin toss: chosen by multiplying with 0 and 1 (exact), not by Math.min.
    // The size is λ if any is capped, else the largest room: Math.max on values that tie with
    // the running maximum as often as not costs a mispredicted branch each.
    let anyCapped = 0;
    for (let i = 0; i < n; i++) {
      const di = d[i]!;
      const capped = +(Math.abs(di) > lambda);
      d[i] = di * (1 - capped) + lambda * (2 * +(w0[i]! * sign < 0) - 1) * capped;
      anyCapped |= capped;
      size = Math.max(size, Math.abs(di) * (1 - capped));
    }
    if (anyCapped) size = Math.max(size, lambda);
  } else for (let i = 0; i < n; i++) size = Math.max(size, Math.abs(d[i]!));
  return size;
}

const BIG = 1e12;

/** The largest room |d_i| of a coordinate that moves the hyperplane (w_i ≠ 0). */
function largestRoom(d: Float64Array, w: ArrayLike<number>, n: number): number {
  let largest = -Infinity;
  for (let i = 0; i < n; i++) if (w[i] !== 0) largest = Math.max(largest, Math.abs(d[i]!));
  return largest;
}

/** Σ w_i² over the coordinates with room (r_i ≠ 0), BIG ones included. */
function slopeAboveZero(r: Float64Array, w: ArrayLike<number>, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) if (r[i] !== 0) s += w[i]! * w[i]!;
  return s;
}

/**
 * L2: the step is −λ·w, each coordinate stopping at its face; λ is where
 * Σ w_i² · min(r_i, λ) reaches the hyperplane, r_i being the λ at which coordinate i saturates.
 * Returns ‖d‖₂.
 */
function stepL2(t: ArrayLike<number>, w0: ArrayLike<number>, wt: number, b: number, d: Float64Array): number {
  const n = t.length;
  const {
    f: [r],
  } = work.ensure(n);
  let c = wt - b;
  const sign = c >= 0 ? 1 : -1;
  c *= sign;
  // r_i: how far along −w coordinate i can move before it hits the box. BIG: it barely moves the
  // hyperplane (|w_i| < 1e-8) and never saturates; its weight only adds to the slope. Rooms of 0
  // are not candidates either: Σ w_i² · min(r_i, 0) = 0 falls short of c > 0 at once, so 0 is the
  // answer only when no other room falls short, and adds nothing to the sums.
  const { keys, weights } = breakpointBuffers(n);
  let m = 0;
  let w5 = 0;
  let saturating = Infinity;
  let neverSaturating = 0;
  let dw = 0;
  let corner = 0;
  for (let i = 0; i < n; i++) {
    const wi = w0[i]! * sign;
    const ti = t[i]!;
    const wi2 = wi * wi;
    w5 += wi2;
    if (Math.abs(wi) < 1e-8) {
      r[i] = BIG;
      neverSaturating += wi2;
      d[i] = 0;
    } else {
      // The larger of t_i / w_i and (t_i − 1) / w_i, whose sign is w_i's (no branch: the signs
      // of w are a coin toss per coordinate). Beyond ±BIG (t outside the box) or NaN: BIG.
      const room = (ti - +!(wi > 0)) / wi;
      const ri = room > -BIG && room < BIG ? room : BIG;
      r[i] = ri;
      if (ri < saturating) saturating = ri;
      if (ri === BIG) neverSaturating += wi2;
      else {
        keys[m] = ri;
        weights[m] = wi2;
        m += +(ri !== 0);
      }
      // |w_i| = 1e-8 exactly, or NaN: a room, but no step (as the reference's tests give it).
      const di = Math.abs(wi) > 1e-8 ? -(ri * wi) : 0;
      d[i] = di;
      dw += di * wi;
      corner += di * di;
    }
  }
  // The reference's smallest room, where a room of BIG counts as 0.
  const r0 = saturating === Infinity || saturating === BIG ? 0 : saturating;
  let size = 0;
  if (-w5 * r0 + c < 0) {
    // No coordinate saturates.
    const alpha = c / w5;
    for (let i = 0; i < n; i++) {
      const wi = w0[i]! * sign;
      const di = Math.abs(wi) > 1e-8 ? finite(-alpha * wi) : 0;
      d[i] = di;
      size += di * di;
    }
  } else if (dw + c <= 0) {
    // The largest room that falls short; λ lies on the linear piece just above it.
    let at = searchBreakpoint(n, m, neverSaturating, c, 'below');
    if (Number.isNaN(at.at) && c > 0 && r.subarray(0, n).includes(0)) at = { at: 0, value: 0, slope: slopeAboveZero(r, w0, n) };
    const alpha = Number.isNaN(at.at) ? r0 : at.slope === 0 ? 0 : finite((c - at.value) / at.slope + at.at);
    // Each coordinate moves by −min(λ, r_i)·w_i: λ where it has room, its room where not (a coin
    // toss: chosen by multiplying with 0 and 1, exact, not by Math.min).
    for (let i = 0; i < n; i++) {
      const wi = w0[i]! * sign;
      const ri = r[i]!;
      const saturated = +(alpha > ri);
      const di = Math.abs(wi) > 1e-8 ? -((ri * saturated + alpha * (1 - saturated)) * wi) : 0;
      d[i] = di;
      size += di * di;
    }
  } else size = corner;
  return Math.sqrt(size);
}

export function projectL1(t: ArrayLike<number>, w0: ArrayLike<number>, b: number, out?: Float64Array): Float64Array {
  const n = t.length;
  const {
    f: [w, r, s, keys],
    i: [indr, rank],
  } = work.ensure(n);
  const d = result(out, n);
  for (let i = 0; i < n; i++) w[i] = w0[i]!;
  let c = dot(w, t, n) - b;
  const sign = c >= 0 ? 1 : -1;
  for (let i = 0; i < n; i++) w[i]! *= sign;
  c *= sign;

  // Coordinates by increasing cost 1/|w_i|: L1 spends its budget on the cheapest first.
  for (let i = 0; i < n; i++) r[i] = Math.min(Math.abs(1 / w[i]!), BIG);
  argsort(r, n, keys, indr);
  for (let k = 0; k < n; k++) rank[indr[k]!] = k;
  for (let i = 0; i < n; i++) d[i] = w[i] !== 0 ? -t[i]! + (w[i]! < 0 ? 1 : 0) : 0;
  s[0] = c;
  for (let k = 0; k < n; k++) {
    const i = indr[k]!;
    s[k + 1] = s[k]! + Math.min(-w[i]! * t[i]!, w[i]! * (1 - t[i]!));
  }
  if (s[n]! < 0) {
    let lb = 0;
    let ub = n + 1;
    for (let it = 0, iters = Math.ceil(Math.log2(n)); it < iters; it++) {
      const mid = Math.floor((lb + ub) / 2);
      if (s[mid]! > 0) lb = mid;
      else ub = mid;
    }
    const last = indr[lb]!;
    const alpha = finite(-s[lb]! / w[last]!);
    for (let i = 0; i < n; i++) if (!(rank[i]! < lb)) d[i] = 0;
    d[last] = alpha;
  }
  for (let i = 0; i < n; i++) if (Math.abs(w[i]!) <= 1e-8) d[i] = 0;
  return d;
}
