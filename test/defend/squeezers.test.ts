import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBackend, Rng } from '../../src/index.js';
import { bitDepth, median } from '../../src/defend/squeezing/squeezers.js';

// scipy.ndimage.median_filter(x, size=(1, k, k, 1), mode='reflect') on a seeded random image
// (scipy 1.17.1), the implementation Xu et al.'s feature squeezing used.
const scipy = JSON.parse(readFileSync(new URL('./fixtures/median-scipy.json', import.meta.url), 'utf8')) as {
  input: number[][][][];
  median2: number[][][][];
  median3: number[][][][];
};

/** Round half to even, as numpy's rint (which Xu et al.'s code calls). */
function rint(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** Brute force: the median of each window, scipy's centring and reflect borders. */
function bruteMedian(x: number[][][][], k: number): number[][][][] {
  const reflect = (i: number, n: number): number => {
    while (i < 0 || i >= n) i = i < 0 ? -i - 1 : 2 * n - i - 1;
    return i;
  };
  const before = Math.floor(k / 2);
  return x.map((image) =>
    image.map((row, r) =>
      row.map((pixel, c) =>
        pixel.map((_, ch) => {
          const window: number[] = [];
          for (let dr = -before; dr < k - before; dr++) {
            for (let dc = -before; dc < k - before; dc++) window.push(image[reflect(r + dr, image.length)]![reflect(c + dc, row.length)]![ch]!);
          }
          window.sort((a, b) => a - b);
          return window[Math.floor((k * k) / 2)]!;
        }),
      ),
    ),
  );
}

describe('squeezers', () => {
  beforeAll(async () => {
    await ensureBackend();
  });

  it('bit depth: rint(x·(2^b − 1)) / (2^b − 1) for every b from 1 to 8', async () => {
    const values = new Rng(3).fillUniform(new Float32Array(500), 0, 1);
    values.set([0, 1, 0.5, 0.25, 0.75], 0);
    const x = tf.tensor2d(values, [100, 5]);
    for (let bits = 1; bits <= 8; bits++) {
      const levels = 2 ** bits - 1;
      const squeezed = bitDepth(bits).apply(x, [0, 1]);
      const got = await squeezed.data();
      squeezed.dispose();
      values.forEach((v, i) => expect(got[i]).toBeCloseTo(rint(Math.fround(v * levels)) / levels, 6));
    }
    x.dispose();
  });

  it('bit depth on other bounds maps to [0, 1] and back', async () => {
    const x = tf.tensor2d([[-1, -0.2, 0.2, 1]]);
    const squeezed = bitDepth(1).apply(x, [-1, 1]);
    expect(Array.from(await squeezed.data())).toEqual([-1, -1, 1, 1]);
    tf.dispose([x, squeezed]);
  });

  it('median 2×2 and 3×3 match scipy.ndimage.median_filter and a brute-force median', async () => {
    const x = tf.tensor4d(scipy.input);
    for (const k of [2, 3] as const) {
      const squeezed = median(k).apply(x, [0, 1]);
      const got = (await squeezed.array()) as number[][][][];
      squeezed.dispose();
      const expected = k === 2 ? scipy.median2 : scipy.median3;
      expect(got.flat(3).map((v) => Math.fround(v))).toEqual(expected.flat(3).map((v) => Math.fround(v)));
      expect(got).toEqual(bruteMedian(scipy.input, k).map((a) => a.map((b) => b.map((c) => c.map((v) => Math.fround(v))))));
    }
    x.dispose();
  });

  it('median 4×4 and 5×5 match the brute force (reflect beyond one pixel)', async () => {
    const x = tf.tensor4d(scipy.input);
    for (const k of [4, 5]) {
      const squeezed = median(k).apply(x, [0, 1]);
      const got = (await squeezed.array()) as number[][][][];
      squeezed.dispose();
      expect(got).toEqual(bruteMedian(scipy.input, k).map((a) => a.map((b) => b.map((c) => c.map((v) => Math.fround(v))))));
    }
    x.dispose();
  });

  it('BPDA: the gradient through each squeezer is the identity, where the forward pass has zero or sparse gradients', async () => {
    const x = tf.tensor4d(scipy.input);
    const weights = tf.randomUniform(x.shape, -1, 1, 'float32', 5);
    for (const squeezer of [bitDepth(1), bitDepth(5), median(2), median(3)]) {
      const gradient = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(squeezer.bpda(v, [0, 1]), weights)))(x);
      expect(Array.from(await gradient.data())).toEqual(Array.from(await weights.data()));
      // The forward pass of bpda is the squeezer itself.
      const forward = squeezer.bpda(x, [0, 1]);
      const direct = squeezer.apply(x, [0, 1]);
      expect(Array.from(await forward.data())).toEqual(Array.from(await direct.data()));
      tf.dispose([gradient, forward, direct]);
      // Without BPDA, rounding has a zero gradient everywhere: the reason BPDA is needed.
      if (squeezer.kind === 'bit-depth') {
        const plain = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(squeezer.apply(v, [0, 1]), weights)))(x);
        expect(Array.from(await plain.data()).every((g) => g === 0)).toBe(true);
        plain.dispose();
      }
    }
    tf.dispose([x, weights]);
  });

  it('creates no tensors beyond the one it returns', () => {
    const x = tf.tensor4d(scipy.input);
    const before = tf.memory().numTensors;
    for (const squeezer of [bitDepth(3), median(2), median(3)]) squeezer.apply(x, [0, 1]).dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('rejects bad parameters and inputs with typed errors', () => {
    expect(() => bitDepth(0)).toThrow(/integer from 1 to 8[\s\S]*Received: 0/);
    expect(() => bitDepth(2.5)).toThrow(/Received: 2.5/);
    expect(() => median(1)).toThrow(/from 2 to 5/);
    const flat = tf.zeros([2, 784]);
    expect(() => median(2).apply(flat, [0, 1])).toThrow(/NHWC[\s\S]*Received: \[2, 784\]/);
    flat.dispose();
  });
});
