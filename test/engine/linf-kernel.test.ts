/**
 * The host L∞ step (src/engine/linf-kernel.ts), wasm SIMD and its plain-JS fallback, against the
 * tfjs ops it stands for (sign, step, projection on the ε-ball, clip to bounds): the same values
 * bit for bit, where either clip acts, for zero and NaN gradient entries, lengths that are not a
 * multiple of the vector width, a result written over its own input, and memory grown between calls.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBackend } from '../../src/index.js';
import { borrowArena, giveBackArena, linfStepInto, scalarStep } from '../../src/engine/linf-kernel.js';
import { ascentDirection, clipToBounds, projectToBall } from '../../src/attacks/steps.js';
import { Rng } from '../../src/engine/random.js';

beforeAll(async () => {
  await ensureBackend();
});

function arrays(n: number, seed: number) {
  const rng = new Rng(seed);
  const x0 = rng.fillUniform(new Float32Array(n), 0, 1);
  // Iterates up to 0.3 away from the origins (past the ball) and past the bounds.
  const x = Float32Array.from(x0, (v) => v + (rng.next() - 0.5) * 0.6);
  const gradient = Float32Array.from({ length: n }, (_, i) => (i % 11 === 3 ? NaN : i % 7 === 5 ? 0 : rng.next() - 0.5));
  return { x, x0, gradient };
}

function reference(x: Float32Array, gradient: Float32Array, x0: Float32Array, size: number, epsilon: number): Float32Array {
  return tf.tidy(() => {
    const [xt, gt, ot] = [tf.tensor1d(x), tf.tensor1d(gradient), tf.tensor1d(x0)];
    return clipToBounds(projectToBall(tf.add(xt, tf.mul(ascentDirection(gt, 'linf'), size)), ot, epsilon, 'linf'), [0, 1]).dataSync() as Float32Array;
  });
}

describe('the host L∞ step', () => {
  const p = { size: 0.037, epsilon: 0.1, low: 0, high: 1 };
  for (const n of [1, 3, 4, 5, 7, 9, 1000, 70_001]) {
    it(`${n} values: equal to the tfjs ops, bit for bit, in wasm SIMD and in plain JS`, () => {
      const { x, x0, gradient } = arrays(n, n);
      const expected = Array.from(reference(x, gradient, x0, p.size, p.epsilon));
      expect(Array.from(linfStepInto(new Float32Array(n), x, gradient, x0, p))).toEqual(expected);
      expect(Array.from(scalarStep(new Float32Array(n), x, gradient, x0, p))).toEqual(expected);
      if (n >= 1000) {
        // Both bounds and the ball clip the step somewhere, so every branch of it is compared.
        expect(expected.includes(0) && expected.includes(1)).toBe(true);
        expect(expected.some((v, i) => v > 0 && v < 1 && Math.abs(Math.abs(v - x0[i]!) - p.epsilon) < 1e-6)).toBe(true);
      }
    });
  }

  it('writes over its own input, and grows its memory between calls', () => {
    const small = arrays(16, 1);
    const big = arrays(300_000, 2);
    const expectedSmall = Array.from(reference(small.x, small.gradient, small.x0, p.size, p.epsilon));
    const expectedBig = Array.from(reference(big.x, big.gradient, big.x0, p.size, p.epsilon));
    expect(Array.from(linfStepInto(small.x, small.x, small.gradient, small.x0, p))).toEqual(expectedSmall);
    expect(Array.from(linfStepInto(big.x, big.x, big.gradient, big.x0, p))).toEqual(expectedBig);
  });

  it('refuses arrays of different lengths', () => {
    const a = new Float32Array(4);
    expect(() => linfStepInto(a, a, new Float32Array(3), a, p)).toThrow(/different lengths/);
  });

  it('steps an arena in place: the first values only, x and next swapped; arenas lent at once never share memory', () => {
    const a = borrowArena(1000);
    const b = borrowArena(1000);
    expect(a.x.buffer).not.toBe(b.x.buffer);
    const { x, x0, gradient } = arrays(1000, 5);
    a.x.set(x);
    a.origin.set(x0);
    a.gradient.set(gradient);
    a.next.fill(-7);
    const before = a.x;
    a.step(600, p);
    expect(a.next).toBe(before);
    const expected = Array.from(reference(x.subarray(0, 600), gradient.subarray(0, 600), x0.subarray(0, 600), p.size, p.epsilon));
    expect(Array.from(a.x.subarray(0, 600))).toEqual(expected);
    // Past the values asked for (rounded up to whole vectors), nothing is written.
    expect(Array.from(a.x.subarray(604)).every((v) => v === -7)).toBe(true);
    expect(() => a.step(1001, p)).toThrow(/arena of 1000/);
    giveBackArena(a);
    giveBackArena(b);
    // An idle arena serves a smaller request again.
    const c = borrowArena(500);
    expect([a, b]).toContain(c);
    giveBackArena(c);
  });
});
