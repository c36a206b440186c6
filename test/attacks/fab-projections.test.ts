/**
 * FAB's box-constrained projections against independent oracles: for a hyperplane w·z = b and a
 * point t of the unit box, the smallest step d with w·(t + d) = b and t + d in the box. L2 and
 * L∞ by bisection on the Lagrange multiplier (each coordinate's best move is a clipped function
 * of it), L1 by the fractional-knapsack greedy (cheapest coordinates, largest |w_i|, first).
 */
import { describe, expect, test } from 'vitest';
import { projectL1, projectL2, projectLinf } from '../../src/attacks/fab-projections.js';
import { fixtureRandom } from './helpers.js';

const clip = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i]!, 0);

/** Moves reaching the hyperplane from t, parametrised by λ ≥ 0 and monotone in it; bisection finds the λ that lands on it. */
function bisect(t: number[], w: number[], b: number, move: (lambda: number, i: number, dir: number) => number): number[] | null {
  const c = dot(w, t) - b;
  const dir = c > 0 ? -1 : 1;
  const at = (lambda: number) => t.map((_, i) => move(lambda, i, dir));
  const gap = (d: number[]) => dir * (b - dot(w, t.map((v, i) => v + d[i]!)));
  if (gap(at(1e6)) > 1e-9) return null;
  let lo = 0;
  let hi = 1e6;
  for (let k = 0; k < 200; k++) {
    const mid = (lo + hi) / 2;
    if (gap(at(mid)) > 0) lo = mid;
    else hi = mid;
  }
  return at(hi);
}

const oracles = {
  l2: (t: number[], w: number[], b: number) => bisect(t, w, b, (l, i, dir) => clip(dir * l * w[i]!, -t[i]!, 1 - t[i]!)),
  linf: (t: number[], w: number[], b: number) => bisect(t, w, b, (l, i, dir) => clip(dir * Math.sign(w[i]!) * l, -t[i]!, 1 - t[i]!)),
  l1: (t: number[], w: number[], b: number) => {
    let need = b - dot(w, t);
    const d = t.map(() => 0);
    const order = w.map((_, i) => i).sort((p, q) => Math.abs(w[q]!) - Math.abs(w[p]!));
    for (const i of order) {
      if (Math.abs(need) < 1e-15 || w[i] === 0) break;
      const up = Math.sign(need) * Math.sign(w[i]!) > 0;
      const room = up ? 1 - t[i]! : -t[i]!;
      const step = clip(need / w[i]!, Math.min(0, room), Math.max(0, room));
      d[i] = step;
      need -= w[i]! * step;
    }
    return Math.abs(need) < 1e-9 ? d : null;
  },
};
const sizes = {
  l2: (d: ArrayLike<number>) => Math.sqrt(dot(d, d)),
  linf: (d: ArrayLike<number>) => Math.max(...Array.from(d, Math.abs)),
  l1: (d: ArrayLike<number>) => Array.from(d).reduce((s, v) => s + Math.abs(v), 0),
};
const projections = { l2: projectL2, linf: projectLinf, l1: projectL1 };

describe.each(['l2', 'linf', 'l1'] as const)('%s projection onto a hyperplane inside the unit box', (norm) => {
  test('lands on the hyperplane, stays in the box, and is as short as the oracle’s step', () => {
    const r = fixtureRandom(norm.length * 97 + 5);
    let binding = 0;
    let checked = 0;
    for (let trial = 0; trial < 300; trial++) {
      const n = 2 + Math.floor(r() * 30);
      const t = Array.from({ length: n }, () => (r() < 0.15 ? Math.round(r()) : r()));
      const w = Array.from({ length: n }, () => (r() < 0.1 ? 0 : (r() * 2 - 1) * 3));
      // Offsets from easy to hard: some need the box to bind, some cannot be reached at all.
      const b = dot(w, t) + (r() * 2 - 1) * n * (trial % 3 === 0 ? 1.5 : 0.3);
      const expected = oracles[norm](t, w, b);
      if (!expected) continue;
      const d = projections[norm](t, w, b);
      checked++;
      const z = t.map((v, i) => v + d[i]!);
      expect(Math.abs(dot(w, z) - b)).toBeLessThan(1e-7 * Math.max(1, Math.abs(b)));
      z.forEach((v) => {
        expect(v).toBeGreaterThanOrEqual(-1e-9);
        expect(v).toBeLessThanOrEqual(1 + 1e-9);
      });
      expect(sizes[norm](d)).toBeLessThanOrEqual(sizes[norm](expected) * (1 + 1e-7) + 1e-9);
      if (z.some((v, i) => (v <= 1e-12 || v >= 1 - 1e-12) && d[i] !== 0)) binding++;
    }
    expect(checked).toBeGreaterThan(150);
    expect(binding).toBeGreaterThan(20);
  });
});
