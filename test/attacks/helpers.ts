/**
 * Shared fixtures for the attack tests: linear models with closed-form minimal adversarial
 * distances, and an independent re-check of every adversarial an attack claims.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { AttackRun, Norm } from '../../src/index.js';

export interface Linear {
  /** classes × features */
  W: number[][];
  b: number[];
  fn: (x: tf.Tensor) => tf.Tensor;
}

/** z = W x + b, as a plain function of a [N, features] tensor. */
export function linear(W: number[][], b: number[]): Linear {
  const features = W[0]!.length;
  const fn = (x: tf.Tensor) =>
    tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], features]), tf.tensor2d(W), false, true), tf.tensor1d(b)));
  return { W, b, fn };
}

export function logitsOf(model: Linear, x: number[]): number[] {
  return model.W.map((w, c) => w.reduce((s, wi, i) => s + wi * x[i]!, model.b[c]!));
}

const dual: Record<Exclude<Norm, 'l0'>, (v: number[]) => number> = {
  // The distance to a hyperplane in norm p is |margin| / ‖w‖ in the dual norm.
  l2: (v) => Math.sqrt(v.reduce((s, a) => s + a * a, 0)),
  linf: (v) => v.reduce((s, a) => s + Math.abs(a), 0),
  l1: (v) => v.reduce((m, a) => Math.max(m, Math.abs(a)), 0),
};

/**
 * Exact minimal untargeted distance for a linear model when the box does not bind: the nearest
 * of the half-spaces {z_j ≥ z_y}, min over j of (z_y − z_j) / ‖w_y − w_j‖_dual.
 */
export function minimalDistance(model: Linear, x: number[], label: number, norm: Exclude<Norm, 'l0'>): number {
  const z = logitsOf(model, x);
  let best = Infinity;
  model.W.forEach((w, j) => {
    if (j === label) return;
    const diff = model.W[label]!.map((a, i) => a - w[i]!);
    best = Math.min(best, (z[label]! - z[j]!) / dual[norm](diff));
  });
  return best;
}

export function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let j = 1; j < v.length; j++) if (v[j]! > v[best]!) best = j;
  return best;
}

export interface Recheck {
  inputs: tf.Tensor;
  labels: ArrayLike<number>;
  bounds: [number, number];
  norm: Exclude<Norm, 'l0'>;
  epsilon?: number;
  targets?: ArrayLike<number> | null;
  topK?: number;
}

/**
 * Runs the model on every claimed adversarial and checks, independently of the library: on
 * target / misclassified / out of the top k, inside the bounds, within ε (1e-6), and that the
 * reported distance is the true one. Returns the recomputed distances.
 */
export async function recheck(model: (x: tf.Tensor) => tf.Tensor, run: AttackRun, c: Recheck): Promise<number[]> {
  const n = c.inputs.shape[0];
  const [logits, advFlat, xFlat] = tf.tidy(() => [model(run.adversarials), tf.reshape(run.adversarials, [n, -1]), tf.reshape(c.inputs, [n, -1])]);
  const z = (await logits!.array()) as number[][];
  const adv = (await advFlat!.array()) as number[][];
  const x = (await xFlat!.array()) as number[][];
  tf.dispose([logits!, advFlat!, xFlat!]);
  const distances: number[] = [];
  for (let i = 0; i < n; i++) {
    const delta = adv[i]!.map((v, k) => v - x[i]![k]!);
    const d = c.norm === 'linf' ? Math.max(0, ...delta.map(Math.abs)) : c.norm === 'l2' ? Math.hypot(...delta) : delta.reduce((s, v) => s + Math.abs(v), 0);
    distances.push(d);
    if (!run.success[i]) {
      expect(run.distances[i]).toBe(Infinity);
      continue;
    }
    const label = c.labels[i]!;
    const row = z[i]!;
    if (c.targets) expect(argmax(row), `sample ${i} on target`).toBe(c.targets[i]);
    else if (c.topK) expect(row.filter((v, j) => j !== label && v >= row[label]!).length, `sample ${i} out of the top ${c.topK}`).toBeGreaterThanOrEqual(c.topK);
    else expect(argmax(row), `sample ${i} misclassified`).not.toBe(label);
    expect(Math.min(...adv[i]!)).toBeGreaterThanOrEqual(c.bounds[0] - 1e-6);
    expect(Math.max(...adv[i]!)).toBeLessThanOrEqual(c.bounds[1] + 1e-6);
    if (c.epsilon !== undefined) expect(d, `sample ${i} within ε`).toBeLessThanOrEqual(c.epsilon + 1e-6);
    expect(Math.abs(run.distances[i]! - d)).toBeLessThanOrEqual(1e-4 * Math.max(1, d));
  }
  return distances;
}

/** Deterministic pseudo-random numbers for building fixtures (not the library's Rng). */
export function fixtureRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/**
 * An ε between two consecutive sorted distances at least `ratio` apart, near the middle, so no
 * sample sits on the edge of the ball (iterative attacks only approach the edge asymptotically).
 */
export function gapEpsilon(distances: number[], ratio = 1.1): number {
  const sorted = [...distances].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  let best: number | undefined;
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i]! / sorted[i - 1]! >= ratio && (best === undefined || Math.abs(i - middle) < Math.abs(best - middle))) best = i;
  }
  if (best === undefined) throw new Error('no gap in the distances; use another fixture seed');
  return Math.sqrt(sorted[best]! * sorted[best - 1]!);
}

export interface LinearFixture {
  model: Linear;
  xs: number[][];
  labels: number[];
  inputs: tf.Tensor2D;
}

/**
 * Random linear classifier with points in the middle of [0, 1]^features and minimal L2
 * distances in [0.05, 0.15] (L1 below 0.25), so the box never binds at the optimum.
 */
export function linearFixture(seed: number, classes: number, features: number, count: number): LinearFixture {
  const r = fixtureRandom(seed);
  const W = Array.from({ length: classes }, () => Array.from({ length: features }, () => (r() * 2 - 1) * 4));
  // Boundaries pass near the centre of the box, so points around it are close to several.
  const b = W.map((w) => -0.5 * w.reduce((s, v) => s + v, 0) + (r() - 0.5) * 0.2);
  const model = linear(W, b);
  const xs: number[][] = [];
  while (xs.length < count) {
    const x = Array.from({ length: features }, () => 0.3 + 0.4 * r());
    const label = argmax(logitsOf(model, x));
    // Keep the optimum well inside the box for every norm, and far above float32 resolution.
    const d2 = minimalDistance(model, x, label, 'l2');
    if (d2 > 0.05 && d2 < 0.15 && minimalDistance(model, x, label, 'l1') < 0.25) xs.push(x);
  }
  const labels = xs.map((x) => argmax(logitsOf(model, x)));
  return { model, xs, labels, inputs: tf.tensor2d(xs) };
}
