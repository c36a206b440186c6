/**
 * FAB's projections (Croce & Hein 2020, `fab_projections.py` of the AutoAttack reference):
 * the smallest perturbation d, in L∞, L2 or L1, that puts t + d on the hyperplane
 * w·z = b while keeping t + d inside the unit box. Where the hyperplane cannot be reached
 * inside the box, d goes to the box corner that gets closest to it, as the reference does.
 * One sample at a time, on plain arrays: each is a sort and a bisection over the coordinates.
 */

export type ProjectionNorm = 'linf' | 'l2' | 'l1';

/** The projection of `t` (in [0, 1]^n) onto {z : w·z = b} ∩ [0, 1]^n in `norm`, as the step d. */
export function projectOntoHyperplane(norm: ProjectionNorm, t: ArrayLike<number>, w: ArrayLike<number>, b: number): Float64Array {
  switch (norm) {
    case 'linf':
      return projectLinf(t, w, b);
    case 'l2':
      return projectL2(t, w, b);
    case 'l1':
      return projectL1(t, w, b);
  }
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/**
 * Indices that sort `v` ascending. A quicksort on a copy of the keys that moves the indices
 * along: typed-array sorts with a comparator call a closure per comparison, and this runs twice
 * per sample and FAB step.
 */
export function argsort(v: ArrayLike<number>): Int32Array {
  const n = v.length;
  const keys = Float64Array.from(v);
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
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

export function projectLinf(t: ArrayLike<number>, w0: ArrayLike<number>, b0: number): Float64Array {
  const n = t.length;
  const w = Float64Array.from(w0);
  const sign = dot(w, t) - b0 >= 0 ? 1 : -1;
  for (let i = 0; i < n; i++) w[i]! *= sign;
  let b = b0 * sign;

  const a = new Float64Array(n);
  const d = new Float64Array(n);
  const p = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] = w[i]! < 0 ? 1 : 0;
    d[i] = w[i] !== 0 ? a[i]! - t[i]! : 0;
    p[i] = a[i]! - t[i]! * (2 * a[i]! - 1);
  }
  const indp = argsort(p);
  b -= dot(w, t);
  const bd = dot(w, d);
  // Coordinates in decreasing p: the cumulative |w| and the hyperplane offset reached when the
  // first k of them are saturated.
  const s = new Float64Array(n);
  const sb = new Float64Array(n);
  let cs = 0;
  let csb = 0;
  for (let k = 0; k < n; k++) {
    const i = indp[n - 1 - k]!;
    cs += Math.abs(w[i]!);
    csb += -w[i]! * d[i]!;
    s[k] = cs;
    sb[k] = csb + bd;
  }
  const reachesWithAll = b - (sb[n - 1]! - s[n - 1]! * p[indp[0]!]!) > 0;
  const between = b - bd > 0 && !reachesWithAll;
  if (reachesWithAll) {
    const lambda = Math.max(finite((b - sb[n - 1]!) / -s[n - 1]!), 0);
    for (let i = 0; i < n; i++) d[i] = (2 * a[i]! - 1) * lambda;
  } else if (between) {
    let lb = 0;
    let ub = n - 1;
    for (let it = 0, iters = Math.ceil(Math.log2(n)); it < iters; it++) {
      const mid = Math.floor((lb + ub) / 2);
      const current = indp[n - 1 - mid]!;
      if (b - (sb[mid]! - s[mid]! * p[current]!) > 0) lb = mid;
      else ub = mid;
    }
    const lambda = Math.max(finite((b - sb[lb]!) / -s[lb]!), 0);
    for (let i = 0; i < n; i++) d[i] = a[i] ? Math.min(lambda, d[i]!) : Math.max(-lambda, d[i]!);
  }
  for (let i = 0; i < n; i++) if (w[i] === 0) d[i] = 0;
  return d;
}

const BIG = 1e12;

export function projectL2(t: ArrayLike<number>, w0: ArrayLike<number>, b: number): Float64Array {
  const n = t.length;
  const w = Float64Array.from(w0);
  let c = dot(w, t) - b;
  const sign = c >= 0 ? 1 : -1;
  for (let i = 0; i < n; i++) w[i]! *= sign;
  c *= sign;

  // r_i: how far along −w coordinate i can move before it hits the box.
  const r = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = Math.max(t[i]! / w[i]!, (t[i]! - 1) / w[i]!);
    v = Number.isNaN(v) ? BIG : Math.min(BIG, Math.max(-BIG, v));
    if (Math.abs(w[i]!) < 1e-8 || v === -BIG) v = BIG;
    r[i] = v;
  }
  const indr = argsort(r);
  const rs = Float64Array.from(indr, (i) => r[i]!);
  const rs2 = new Float64Array(n);
  for (let k = 0; k + 1 < n; k++) rs2[k] = rs[k + 1]!;
  for (let k = 0; k < n; k++) {
    if (rs[k] === BIG) rs[k] = 0;
    if (rs2[k] === BIG) rs2[k] = 0;
  }
  const w3s = Float64Array.from(indr, (i) => w[i]! * w[i]!);
  let w5 = 0;
  for (const v of w3s) w5 += v;
  const ws = new Float64Array(n);
  let cum = 0;
  for (let k = 0; k < n; k++) {
    cum += w3s[k]!;
    ws[k] = w5 - cum;
  }
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = Math.abs(w[i]!) > 1e-8 ? -(r[i]! * w[i]!) : 0;
  const s = new Float64Array(n + 1);
  s[0] = -w5 * rs[0]!;
  let acc = 0;
  for (let k = 0; k < n; k++) {
    acc += (-rs2[k]! + rs[k]!) * ws[k]!;
    s[k + 1] = acc - w5 * rs[0]!;
  }
  const unconstrained = s[0]! + c < 0;
  const unreachable = dot(d, w) + c > 0;
  if (unconstrained) {
    const alpha = c / w5;
    for (let i = 0; i < n; i++) d[i] = finite(-alpha * w[i]!);
  } else if (!unreachable) {
    let lb = 0;
    let ub = n - 1;
    for (let it = 0, iters = Math.ceil(Math.log2(n)); it < iters; it++) {
      const mid = Math.floor((lb + ub) / 2);
      if (s[mid]! + c > 0) lb = mid;
      else ub = mid;
    }
    const alpha = ws[lb] === 0 ? 0 : finite((s[lb]! + c) / ws[lb]! + rs[lb]!);
    for (let i = 0; i < n; i++) if (!(alpha > r[i]!)) d[i] = -alpha * w[i]!;
  }
  for (let i = 0; i < n; i++) if (Math.abs(w[i]!) <= 1e-8) d[i] = 0;
  return d;
}

export function projectL1(t: ArrayLike<number>, w0: ArrayLike<number>, b: number): Float64Array {
  const n = t.length;
  const w = Float64Array.from(w0);
  let c = dot(w, t) - b;
  const sign = c >= 0 ? 1 : -1;
  for (let i = 0; i < n; i++) w[i]! *= sign;
  c *= sign;

  // Coordinates by increasing cost 1/|w_i|: L1 spends its budget on the cheapest first.
  const r = Float64Array.from(w, (v) => Math.min(Math.abs(1 / v), BIG));
  const indr = argsort(r);
  const rank = new Int32Array(n);
  indr.forEach((i, k) => (rank[i] = k));
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = w[i] !== 0 ? -t[i]! + (w[i]! < 0 ? 1 : 0) : 0;
  const s = new Float64Array(n + 1);
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
