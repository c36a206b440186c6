/**
 * FAB's projections (Croce & Hein 2020, `fab_projections.py` of the AutoAttack reference):
 * the smallest perturbation d, in L∞, L2 or L1, that puts t + d on the hyperplane
 * w·z = b while keeping t + d inside the unit box. Where the hyperplane cannot be reached
 * inside the box, d goes to the box corner that gets closest to it, as the reference does.
 * One sample at a time, on plain arrays: each is a sort and a bisection over the coordinates.
 * FAB runs two of these per sample and step, so the working arrays are reused from call to call
 * (JavaScript is single-threaded, and no call awaits) and the step can be written into `out`.
 */

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

export function projectLinf(t: ArrayLike<number>, w0: ArrayLike<number>, b0: number, out?: Float64Array): Float64Array {
  const n = t.length;
  const {
    f: [w, a, p, s, sb, keys],
    i: [indp],
  } = work.ensure(n);
  const d = result(out, n);
  for (let i = 0; i < n; i++) w[i] = w0[i]!;
  const wt = dot(w, t, n);
  const sign = wt - b0 >= 0 ? 1 : -1;
  for (let i = 0; i < n; i++) w[i]! *= sign;
  let b = b0 * sign;

  for (let i = 0; i < n; i++) {
    a[i] = w[i]! < 0 ? 1 : 0;
    d[i] = w[i] !== 0 ? a[i]! - t[i]! : 0;
    p[i] = a[i]! - t[i]! * (2 * a[i]! - 1);
  }
  argsort(p, n, keys, indp);
  // w·t after the flip: negation is exact, so this is the flipped sum bit for bit.
  b -= sign * wt;
  const bd = dot(w, d, n);
  // Coordinates in decreasing p: the cumulative |w| and the hyperplane offset reached when the
  // first k of them are saturated.
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

export function projectL2(t: ArrayLike<number>, w0: ArrayLike<number>, b: number, out?: Float64Array): Float64Array {
  const n = t.length;
  const {
    f: [w, r, rs, rs2, w3s, ws, s, keys],
    i: [indr],
  } = work.ensure(n);
  const d = result(out, n);
  for (let i = 0; i < n; i++) w[i] = w0[i]!;
  let c = dot(w, t, n) - b;
  const sign = c >= 0 ? 1 : -1;
  for (let i = 0; i < n; i++) w[i]! *= sign;
  c *= sign;

  // r_i: how far along −w coordinate i can move before it hits the box.
  for (let i = 0; i < n; i++) {
    let v = Math.max(t[i]! / w[i]!, (t[i]! - 1) / w[i]!);
    v = Number.isNaN(v) ? BIG : Math.min(BIG, Math.max(-BIG, v));
    if (Math.abs(w[i]!) < 1e-8 || v === -BIG) v = BIG;
    r[i] = v;
  }
  argsort(r, n, keys, indr);
  for (let k = 0; k < n; k++) {
    const i = indr[k]!;
    rs[k] = r[i]!;
    w3s[k] = w[i]! * w[i]!;
  }
  for (let k = 0; k + 1 < n; k++) rs2[k] = rs[k + 1]!;
  rs2[n - 1] = 0;
  for (let k = 0; k < n; k++) {
    if (rs[k] === BIG) rs[k] = 0;
    if (rs2[k] === BIG) rs2[k] = 0;
  }
  let w5 = 0;
  for (let k = 0; k < n; k++) w5 += w3s[k]!;
  let cum = 0;
  for (let k = 0; k < n; k++) {
    cum += w3s[k]!;
    ws[k] = w5 - cum;
  }
  for (let i = 0; i < n; i++) d[i] = Math.abs(w[i]!) > 1e-8 ? -(r[i]! * w[i]!) : 0;
  s[0] = -w5 * rs[0]!;
  let acc = 0;
  for (let k = 0; k < n; k++) {
    acc += (-rs2[k]! + rs[k]!) * ws[k]!;
    s[k + 1] = acc - w5 * rs[0]!;
  }
  const unconstrained = s[0]! + c < 0;
  const unreachable = dot(d, w, n) + c > 0;
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
