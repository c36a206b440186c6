/**
 * FAB's L∞ and L2 projections find the breakpoint next to the root by selection. Two oracles:
 * the breakpoint search against brute force (F evaluated at every breakpoint), and both
 * projections against a transcription of the reference's own procedure (fab_projections.py:
 * sort the rooms, cumulative sums, bisection over positions), on inputs shaped like MNIST
 * iterates: most coordinates at 0 or 1, so rooms tie by the hundred, some weights zero or below
 * 1e-8.
 */
import { describe, expect, test } from 'vitest';
import { breakpointBuffers, searchBreakpoint } from '../../src/attacks/fab-breakpoints.js';
import { projectL2, projectLinf } from '../../src/attacks/fab-projections.js';
import { Rng } from '../../src/index.js';

const BIG = 1e12;
const finite = (v: number) => (Number.isFinite(v) ? v : 0);
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const argsort = (v: ArrayLike<number>) => Array.from(v, (_, i) => i).sort((i, j) => v[i]! - v[j]! || i - j);
const bisect = (n: number, above: (k: number) => boolean) => {
  let lb = 0;
  let ub = n - 1;
  for (let it = 0, iters = Math.ceil(Math.log2(n)); it < iters; it++) {
    const mid = Math.floor((lb + ub) / 2);
    if (above(mid)) lb = mid;
    else ub = mid;
  }
  return lb;
};

/** The reference's projection_linf, step by step on plain arrays. */
function referenceLinf(t: number[], w0: number[], b0: number): number[] {
  const n = t.length;
  const sign = dot(w0, t) - b0 < 0 ? -1 : 1;
  const w = w0.map((v) => v * sign);
  let b = b0 * sign;
  const a = w.map((v) => (v < 0 ? 1 : 0));
  const d = w.map((v, i) => (v !== 0 ? a[i]! - t[i]! : 0));
  const p = a.map((ai, i) => ai - t[i]! * (2 * ai - 1));
  const indp = argsort(p);
  b -= dot(w, t);
  const b0d = dot(w, d);
  const order = [...indp].reverse();
  const s: number[] = [];
  const sb: number[] = [];
  order.reduce(([cs, csb], i) => {
    s.push(cs + Math.abs(w[i]!));
    sb.push(csb - w[i]! * d[i]! + (sb.length === 0 ? b0d : 0));
    return [s[s.length - 1]!, sb[sb.length - 1]!];
  }, [0, 0]);
  const all = b - (sb[n - 1]! - s[n - 1]! * p[indp[0]!]!) > 0;
  if (all) {
    const lambda = Math.max(finite((b - sb[n - 1]!) / -s[n - 1]!), 0);
    return d.map((_, i) => (w[i] === 0 ? 0 : (2 * a[i]! - 1) * lambda));
  }
  if (b - b0d > 0) {
    const lb = bisect(n, (k) => b - (sb[k]! - s[k]! * p[order[k]!]!) > 0);
    const lambda = Math.max(finite((b - sb[lb]!) / -s[lb]!), 0);
    return d.map((di, i) => (w[i] === 0 ? 0 : a[i] ? Math.min(lambda, di) : Math.max(-lambda, di)));
  }
  return d;
}

/** The reference's projection_l2, step by step on plain arrays. */
function referenceL2(t: number[], w0: number[], b: number): number[] {
  const n = t.length;
  let c = dot(w0, t) - b;
  const sign = c >= 0 ? 1 : -1;
  const w = w0.map((v) => v * sign);
  c *= sign;
  const r = w.map((wi, i) => {
    let v = Math.max(t[i]! / wi, (t[i]! - 1) / wi);
    v = Number.isNaN(v) ? BIG : Math.min(BIG, Math.max(-BIG, v));
    return Math.abs(wi) < 1e-8 || v === -BIG ? BIG : v;
  });
  const indr = argsort(r);
  const rs = indr.map((i) => r[i]!);
  const rs2 = [...rs.slice(1), 0].map((v) => (v === BIG ? 0 : v));
  const rsz = rs.map((v) => (v === BIG ? 0 : v));
  const w3s = indr.map((i) => w[i]! * w[i]!);
  const w5 = w3s.reduce((x, y) => x + y, 0);
  let cum = 0;
  const ws = w3s.map((v) => w5 - (cum += v));
  const d = w.map((wi, i) => (Math.abs(wi) > 1e-8 ? -(r[i]! * wi) : 0));
  const s = [-w5 * rsz[0]!];
  let acc = 0;
  for (let k = 0; k < n; k++) s.push((acc += (-rs2[k]! + rsz[k]!) * ws[k]!) - w5 * rsz[0]!);
  if (s[0]! + c < 0) return w.map((wi) => (Math.abs(wi) > 1e-8 ? finite((-c / w5) * wi) : 0));
  if (dot(d, w) + c > 0) return d;
  const lb = bisect(n, (k) => s[k]! + c > 0);
  const alpha = ws[lb] === 0 ? 0 : finite((s[lb]! + c) / ws[lb]! + rsz[lb]!);
  return d.map((di, i) => (Math.abs(w[i]!) <= 1e-8 ? 0 : alpha > r[i]! ? di : -alpha * w[i]!));
}

/** A point like a FAB iterate on MNIST and a hyperplane through the box at a random offset. */
function problem(rng: Rng, n: number) {
  const t = Array.from({ length: n }, () => {
    const u = rng.next();
    return u < 0.6 ? 0 : u < 0.7 ? 1 : rng.next();
  });
  const w = Array.from({ length: n }, () => {
    const u = rng.next();
    return u < 0.05 ? 0 : u < 0.08 ? 1e-9 * rng.normal() : rng.normal() * 0.3;
  });
  const b = dot(w, t) + rng.normal() * 10 ** rng.uniform(-3, 1.5);
  return { t, w, b };
}

describe.each([
  ['L∞', projectLinf, referenceLinf],
  ['L2', projectL2, referenceL2],
] as const)('%s projection', (_, project, reference) => {
  test("equals the reference's sort-and-bisect procedure on MNIST-like points, to rounding", () => {
    const rng = new Rng(17);
    const kinds = new Set<string>();
    for (let trial = 0; trial < 200; trial++) {
      const n = trial % 4 === 0 ? 2 + rng.int(40) : 784;
      const { t, w, b } = problem(rng, n);
      const expected = reference(t, w, b);
      const d = project(Float64Array.from(t), Float64Array.from(w), b, new Float64Array(n));
      const scale = Math.max(...expected.map(Math.abs), 1e-6);
      for (let i = 0; i < n; i++) expect(Math.abs(d[i]! - expected[i]!), `trial ${trial}, coordinate ${i}`).toBeLessThanOrEqual(1e-9 * scale);
      // Which regime the step fell in: at the hyperplane or short of it, box binding or not.
      const reached = Math.abs(dot(w, t.map((v, i) => v + d[i]!)) - b) < 1e-9 * Math.max(1, Math.abs(b));
      const binding = t.some((v, i) => d[i] !== 0 && (v + d[i]! <= 1e-12 || v + d[i]! >= 1 - 1e-12));
      kinds.add(`${reached ? 'reached' : 'short'} ${binding ? 'binding' : 'free'}`);
    }
    expect([...kinds].sort()).toEqual(['reached binding', 'reached free', 'short binding']);
  });
});

test('the breakpoint search finds what evaluating F at every breakpoint finds', () => {
  const rng = new Rng(5);
  for (let trial = 0; trial < 500; trial++) {
    const n = 1 + rng.int(60);
    // Few distinct values: ties are the common case.
    const q = Array.from({ length: n }, () => rng.int(8) * 0.25);
    const v = Array.from({ length: n }, () => 0.1 + rng.next());
    const extra = trial % 3 === 0 ? rng.next() : 0;
    const F = (x: number) => q.reduce((s, qi, i) => s + v[i]! * Math.min(qi, x), 0) + extra * x;
    // Off every F(q_j) by more than rounding, so that < and > are not decided by the order of sums.
    const target = F(rng.uniform(-0.2, 2)) + (rng.next() < 0.5 ? -1 : 1) * 10 ** rng.uniform(-6, -1);
    for (const side of ['below', 'above'] as const) {
      const ok = q.filter((x) => (side === 'below' ? F(x) < target : F(x) > target));
      const best = ok.length === 0 ? NaN : side === 'below' ? Math.max(...ok) : Math.min(...ok);
      const { keys, weights } = breakpointBuffers(n);
      q.forEach((x, i) => {
        keys[i] = x;
        weights[i] = v[i]!;
      });
      const found = searchBreakpoint(n, n, extra, target, side);
      expect(found.at, `trial ${trial} ${side}`).toBe(best);
      if (Number.isNaN(best)) continue;
      expect(found.value).toBeCloseTo(F(best), 9);
      const slope = q.reduce((s, x, i) => s + (side === 'below' ? (x > best ? v[i]! : 0) : x >= best ? v[i]! : 0), extra);
      expect(found.slope).toBeCloseTo(slope, 9);
    }
  }
});
