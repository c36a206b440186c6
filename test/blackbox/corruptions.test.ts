import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  classifier,
  contrastReduction,
  gaussianBlur,
  gaussianNoise,
  saltAndPepper,
  spatial,
  uniformNoise,
  type Attack,
} from '../../src/index.js';
import { blur, gaussianKernel } from '../../src/attacks/corruptions/blur.js';
import { reflect } from '../../src/attacks/corruptions/image.js';
import { transformImage } from '../../src/attacks/corruptions/affine.js';
import { transformGrid } from '../../src/attacks/spatial.js';
import { correctDigits, linearModel, noLeak, recheck, seededMatrix, twin } from './helpers.js';

describe('image operations against independent references', () => {
  it('Gaussian kernel equals scipy.ndimage’s (σ = 1 and σ = 0.5, truncate 4)', () => {
    const scipy1 = [1.33830625e-4, 4.43186162e-3, 5.39911274e-2, 2.41971446e-1, 3.98943469e-1, 2.41971446e-1, 5.39911274e-2, 4.43186162e-3, 1.33830625e-4];
    gaussianKernel(1).forEach((v, k) => expect(v).toBeCloseTo(scipy1[k]!, 9));
    const scipyHalf = [2.63865083e-4, 1.06450772e-1, 7.86570726e-1, 1.06450772e-1, 2.63865083e-4];
    expect(Array.from(gaussianKernel(0.5))).toHaveLength(5);
    gaussianKernel(0.5).forEach((v, k) => expect(v).toBeCloseTo(scipyHalf[k]!, 9));
  });

  it('reflect borders are scipy’s (d c b a | a b c d | d c b a)', () => {
    expect([-5, -4, -3, -2, -1, 0, 3, 4, 5, 7, 8, 12].map((i) => reflect(i, 4))).toEqual([3, 3, 2, 1, 0, 0, 3, 3, 2, 0, 0, 3]);
  });

  it('blur equals a direct 2-D convolution over a reflect-padded image', () => {
    const [H, W, C] = [7, 9, 2];
    const x = Float32Array.from(seededMatrix(1, H * W * C, 3)[0]!, (v) => (v + 1) / 2);
    const sigma = 1.3;
    const k = gaussianKernel(sigma);
    const r = (k.length - 1) / 2;
    const padded = (h: number, w: number, c: number) => {
      // Explicit mirror padding, one reflection at a time.
      let hh = h;
      let ww = w;
      while (hh < 0 || hh >= H) hh = hh < 0 ? -hh - 1 : 2 * H - hh - 1;
      while (ww < 0 || ww >= W) ww = ww < 0 ? -ww - 1 : 2 * W - ww - 1;
      return x[(hh * W + ww) * C + c]!;
    };
    const out = blur(x, { height: H, width: W, channels: C }, sigma);
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++)
        for (let c = 0; c < C; c++) {
          let acc = 0;
          for (let a = -r; a <= r; a++) for (let b = -r; b <= r; b++) acc += k[a + r]! * k[b + r]! * padded(h + a, w + b, c);
          expect(out[(h * W + w) * C + c]).toBeCloseTo(acc, 5);
        }
    expect(Array.from(blur(new Float32Array(H * W * C).fill(0.3), { height: H, width: W, channels: C }, 5)).every((v) => Math.abs(v - 0.3) < 1e-6)).toBe(true);
  });

  it('rotations by 90° and 180° and integer translations are exact permutations', () => {
    const n = 6;
    const x = Float32Array.from({ length: n * n }, (_, i) => i / (n * n));
    const shape = { height: n, width: n, channels: 1 };
    const at = (v: Float32Array, h: number, w: number) => v[h * n + w]!;
    const r180 = transformImage(x, shape, { rotation: 180, dx: 0, dy: 0 }, 0);
    const r90 = transformImage(x, shape, { rotation: 90, dx: 0, dy: 0 }, 0);
    const moved = transformImage(x, shape, { rotation: 0, dx: 2, dy: -1 }, -1);
    for (let h = 0; h < n; h++)
      for (let w = 0; w < n; w++) {
        expect(at(r180, h, w)).toBeCloseTo(at(x, n - 1 - h, n - 1 - w), 5);
        // Counter-clockwise on screen: the top row comes from the right column.
        expect(at(r90, h, w)).toBeCloseTo(at(x, w, n - 1 - h), 5);
        const source = [h + 1, w - 2];
        const inside = source[0]! < n && source[1]! >= 0;
        expect(at(moved, h, w)).toBeCloseTo(inside ? at(x, source[0]!, source[1]!) : -1, 5);
      }
    expect(Array.from(transformImage(x, shape, { rotation: 0, dx: 0, dy: 0 }, 0))).toEqual(Array.from(x));
  });

  it('orders the grid mildest first and leaves out the identity', () => {
    const grid = transformGrid([-10, 0, 10], [-2, 0, 2]);
    expect(grid).toHaveLength(26);
    expect(grid.some((t) => t.rotation === 0 && t.dx === 0 && t.dy === 0)).toBe(false);
    const size = (t: { rotation: number; dx: number; dy: number }) => (t.rotation / 10) ** 2 + (t.dx ** 2 + t.dy ** 2) / 4;
    for (let k = 1; k < grid.length; k++) expect(size(grid[k]!)).toBeGreaterThanOrEqual(size(grid[k - 1]!));
  });
});

describe('severity searches against closed-form breaking severities', () => {
  // Two classes: z1 − z0 = w·x + c. Along x + r·v the margin is linear in r, so the breaking
  // severity is exact wherever no clipping happens.
  const w = seededMatrix(1, 12, 5)[0]!;
  const fn = linearModel([w.map(() => 0), w], [0, -1.2]);
  const clf = classifier(fn, { outputs: 'logits', bounds: [-20, 20] });
  const rows = seededMatrix(4, 12, 9).map((r) => r.map((v) => 0.3 * v));
  const labels = rows.map(() => 0);
  const margin = (x: number[]) => x.reduce((s, v, k) => s + v * w[k]!, -1.2);
  let inputs: tf.Tensor2D;
  beforeAll(() => {
    expect(rows.every((x) => margin(x) < 0)).toBe(true);
    inputs = tf.tensor2d(rows);
  });
  afterAll(() => inputs.dispose());

  it('contrast reduction stops at r* = −m(x)/(w·(mid − x)), to the bisection’s precision', async () => {
    const run = await noLeak(() => contrastReduction({ steps: 20, refinements: 12, maxSeverity: 1 }).run(clf, { inputs, labels }, { seed: 1 }), (r) => [r.adversarials]);
    await recheck(run, { predict: fn, inputs, labels, norm: 'l2', bounds: [-20, 20] });
    rows.forEach((x, i) => {
      const rStar = -margin(x) / x.reduce((s, v, k) => s + w[k]! * (0 - v), 0);
      if (rStar > 0 && rStar <= 1) {
        expect(run.success[i]).toBe(true);
        const severity = run.parameters![i]!.severity!;
        expect(severity).toBeGreaterThanOrEqual(rStar - 1e-6);
        expect(severity - rStar).toBeLessThanOrEqual(1 / 20 / 2 ** 12 + 1e-6);
      } else expect(run.success[i]).toBe(false);
    });
    run.adversarials.dispose();
  });

  it.each([
    ['gaussianNoise', gaussianNoise],
    ['uniformNoise', uniformNoise],
  ] as const)('%s: the reported severity breaks and one bisection step less does not', async (_name, make) => {
    const steps = 50;
    const refinements = 8;
    const top = 40;
    const run = await make({ steps, refinements, maxSeverity: top }).run(clf, { inputs, labels }, { seed: 3 });
    await recheck(run, { predict: fn, inputs, labels, norm: 'l2', bounds: [-20, 20] });
    const adv = (await run.adversarials.array()) as number[][];
    let checked = 0;
    rows.forEach((x, i) => {
      if (!run.success[i]) return;
      const s = run.parameters![i]!.severity!;
      const noise = adv[i]!.map((v, k) => (v - x[k]!) / s);
      if (make === uniformNoise) expect(Math.max(...noise.map(Math.abs))).toBeLessThanOrEqual(1 + 1e-5);
      const below = x.map((v, k) => v + (s - top / steps / 2 ** refinements) * noise[k]!);
      expect(margin(adv[i]!)).toBeGreaterThanOrEqual(0);
      expect(margin(below)).toBeLessThan(1e-5);
      checked++;
    });
    expect(checked).toBeGreaterThan(0);
    run.adversarials.dispose();
  });
});

describe('corruptions and spatial on the MNIST fixture CNN', () => {
  let digits: { inputs: tf.Tensor4D; labels: number[] };
  const predict = (x: tf.Tensor) => twin().predict(x) as tf.Tensor;
  beforeAll(() => (digits = correctDigits(twin(), 8)));
  afterAll(() => digits.inputs.dispose());

  const cases: [string, () => Attack, 'l2' | 'l0', number][] = [
    ['gaussianNoise', () => gaussianNoise(), 'l2', 110],
    ['uniformNoise', () => uniformNoise(), 'l2', 110],
    ['saltAndPepper', () => saltAndPepper(), 'l0', 1300],
    ['gaussianBlur', () => gaussianBlur({ steps: 40 }), 'l2', 50],
    ['contrastReduction', () => contrastReduction(), 'l2', 110],
    ['spatial', () => spatial(), 'l2', 124],
  ];

  it.each(cases)('%s: re-checked, parameters reported, budget honoured, seeds reproduce, no leak', async (_name, make, norm, budget) => {
    const clf = classifier(twin(), { outputs: 'logits' });
    const run = await noLeak(() => make().run(clf, digits, { seed: 4 }), (r) => [r.adversarials]);
    const broken = await recheck(run, { predict, inputs: digits.inputs, labels: digits.labels, norm });
    expect(broken).toBeGreaterThan(0);
    expect(run.gradientEvaluations).toBe(0);
    run.success.forEach((s, i) => {
      expect(run.queries[i]).toBeLessThanOrEqual(budget + 2);
      expect(run.parameters![i] === null).toBe(!s);
    });
    const again = await make().run(clf, digits, { seed: 4 });
    expect(again.parameters).toEqual(run.parameters);
    expect(Array.from(await again.adversarials.data())).toEqual(Array.from(await run.adversarials.data()));
    tf.dispose([run.adversarials, again.adversarials]);
  });

  it('salt-and-pepper only writes the bounds, whole pixels at a time', async () => {
    const clf = classifier(twin(), { outputs: 'logits' });
    const run = await saltAndPepper().run(clf, digits, { seed: 2 });
    const adv = await run.adversarials.data();
    const x = await digits.inputs.data();
    for (let j = 0; j < x.length; j++) if (adv[j] !== x[j]) expect([0, 1]).toContain(adv[j]);
    run.adversarials.dispose();
  });

  it('spatial reports the mildest transform that breaks each sample', async () => {
    const clf = classifier(twin(), { outputs: 'logits' });
    const rotations = [-20, 0, 20];
    const translations = [-2, 0, 2];
    const run = await spatial({ rotations, translations }).run(clf, digits, { seed: 0 });
    const grid = transformGrid(rotations, translations);
    const images = (await digits.inputs.data()) as Float32Array;
    for (const [i, found] of run.parameters!.entries()) {
      const x = images.slice(i * 784, (i + 1) * 784);
      const verdicts = tf.tidy(() => {
        const batch = tf.tensor4d(
          grid.flatMap((t) => Array.from(transformImage(x, { height: 28, width: 28, channels: 1 }, t, 0))),
          [grid.length, 28, 28, 1],
        );
        return Array.from(tf.argMax(predict(batch), 1).dataSync()).map((c) => c !== digits.labels[i]);
      });
      const first = verdicts.indexOf(true);
      if (first < 0) expect(found).toBeNull();
      else expect(found).toEqual(grid[first]);
    }
    run.adversarials.dispose();
  });

  it('blur and spatial refuse inputs without height and width', async () => {
    const flat = { inputs: tf.zeros([1, 12]), labels: [0] };
    const clf = classifier(linearModel([Array(12).fill(0), Array(12).fill(1)], [3, 0]), { outputs: 'logits' });
    await expect(gaussianBlur().run(clf, flat)).rejects.toMatchObject({ code: 'INVALID_SHAPE' });
    await expect(spatial().run(clf, flat)).rejects.toMatchObject({ code: 'INVALID_SHAPE' });
    expect(() => spatial({ rotations: [] })).toThrow(/rotations/);
    expect(() => gaussianNoise({ steps: 0 })).toThrow(/steps/);
    expect(() => gaussianNoise({ maxSeverity: -1 })).toThrow(/maxSeverity/);
    flat.inputs.dispose();
  });
});
