/**
 * The final check of an attack's candidates reads each row on the host (src/attacks/candidate-
 * stats.ts): its distances equal the tensor norms of the same differences (L∞ and L0 exactly, L1
 * and L2 to float32 rounding), its bounds are each row's extremes, and a NaN or ±∞ anywhere in a
 * row marks that row, and only it, as not finite.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBackend } from '../../src/index.js';
import { candidateStats } from '../../src/attacks/candidate-stats.js';
import { normOf } from '../../src/norms.js';
import { Rng } from '../../src/engine/random.js';

beforeAll(async () => {
  await ensureBackend();
});

describe('candidate statistics', () => {
  const rows = 7;
  const shape = [rows, 5, 5, 3];
  const size = 75;
  const rng = new Rng(4);
  const x = rng.fillUniform(new Float32Array(rows * size), 0, 1);
  // Some rows equal to their input, others moved by up to 0.2, some values left alone.
  const c = Float32Array.from(x, (v, i) => (Math.floor(i / size) === 2 || i % 3 === 0 ? v : v + (rng.next() - 0.5) * 0.4));

  for (const norm of ['linf', 'l2', 'l1', 'l0'] as const) {
    it(`${norm}: distances equal the tensor norms`, () => {
      const [ct, xt] = [tf.tensor(c, shape), tf.tensor(x, shape)];
      const before = tf.memory().numTensors;
      const stats = candidateStats(ct, xt, norm);
      expect(tf.memory().numTensors).toBe(before);
      const expected = tf.tidy(() => Array.from(normOf(tf.sub(ct, xt), norm).dataSync()));
      stats.distance.forEach((d, r) => {
        if (norm === 'linf' || norm === 'l0') expect(d).toBe(expected[r]);
        else expect(Math.abs(d - expected[r]!)).toBeLessThanOrEqual(2e-6 * Math.max(1, expected[r]!));
      });
      expect(stats.distance[2]).toBe(0);
      for (let r = 0; r < rows; r++) {
        const row = Array.from(c.subarray(r * size, (r + 1) * size));
        expect(stats.min[r]).toBe(Math.min(...row));
        expect(stats.max[r]).toBe(Math.max(...row));
      }
      expect(stats.finite.every(Boolean)).toBe(true);
      tf.dispose([ct, xt]);
    });
  }

  it('marks exactly the rows holding a NaN or an infinity', () => {
    const bad = c.slice();
    bad[1 * size + 4] = NaN;
    bad[4 * size + 70] = Infinity;
    bad[6 * size] = -Infinity;
    const [ct, xt] = [tf.tensor(bad, shape), tf.tensor(x, shape)];
    const stats = candidateStats(ct, xt, 'linf');
    expect(stats.finite).toEqual([true, false, true, true, false, true, false]);
    tf.dispose([ct, xt]);
  });
});
