import * as tf from '@tensorflow/tfjs';
import * as fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBackend, perturbations, RobustestError, Rng, transforms, type Perturbation } from '../src/index.js';
import { GRID_STEPS } from '../src/property/perturbations/arbitraries.js';

const BOUNDS = [0, 1] as const;

/** A batch of 3 images 6×5×3 with values spread over [0, 1], the bounds included. */
function images(seed = 3, shape: [number, number, number, number] = [3, 6, 5, 3]): tf.Tensor4D {
  const rng = new Rng(seed);
  const data = rng.fillUniform(new Float32Array(shape.reduce((a, b) => a * b, 1)), -0.2, 1.2).map((v) => Math.min(1, Math.max(0, v)));
  return tf.tensor4d(data, shape);
}

const families: [string, fc.Arbitrary<Perturbation>][] = [
  ['linf', perturbations.linf(0.3)],
  ['l2', perturbations.l2(2)],
  ['pixels', perturbations.pixels(7)],
  ['gaussianNoise', perturbations.gaussianNoise(0.4)],
  ['saltAndPepper', perturbations.saltAndPepper(0.5)],
  ['brightness', perturbations.brightness(0.5)],
  ['contrast', perturbations.contrast(0.2, 3)],
  ['rotation', perturbations.rotation(30)],
  ['translation', perturbations.translation(2)],
  ['blur', perturbations.blur(1.5)],
  ['compose', perturbations.compose(perturbations.rotation(10, { fill: 'low' }), perturbations.gaussianNoise(0.1), transforms.brightness(0))],
];

async function values(t: tf.Tensor): Promise<Float32Array> {
  return (await t.data()) as Float32Array;
}

beforeAll(async () => {
  await ensureBackend();
});

describe('every perturbation family', () => {
  it.each(families)('%s: results keep the shape, stay inside the bounds, and leak nothing', async (_, arbitrary) => {
    const x = images();
    for (const bounds of [BOUNDS, [-0.5, 1.5] as const]) {
      for (const p of fc.sample(arbitrary, { seed: 11, numRuns: 25 })) {
        const before = tf.memory().numTensors;
        const y = p.apply(x, bounds);
        expect(tf.memory().numTensors).toBe(before + 1);
        expect(y.shape).toEqual(x.shape);
        const data = await values(y);
        y.dispose();
        const low = Math.min(...data);
        const high = Math.max(...data);
        expect(low).toBeGreaterThanOrEqual(bounds[0]);
        expect(high).toBeLessThanOrEqual(bounds[1]);
        expect(data.every(Number.isFinite)).toBe(true);
      }
    }
    x.dispose();
  });

  it.each(families)('%s: shrinks to the identity, which returns the input bit for bit', async (_, arbitrary) => {
    const result = fc.check(fc.property(arbitrary, () => false), { seed: 5 });
    expect(result.failed).toBe(true);
    const shrunk = result.counterexample![0] as Perturbation;
    expect(shrunk.isIdentity).toBe(true);
    const x = images(8);
    const y = shrunk.apply(x, BOUNDS);
    expect(Array.from(await values(y))).toEqual(Array.from(await values(x)));
    tf.dispose([x, y]);
  });

  it.each(families)('%s: generation is reproducible from the fast-check seed', async (_, arbitrary) => {
    const first = fc.sample(arbitrary, { seed: 42, numRuns: 12 });
    const second = fc.sample(arbitrary, { seed: 42, numRuns: 12 });
    const other = fc.sample(arbitrary, { seed: 43, numRuns: 12 });
    expect(second.map((p) => p.params)).toEqual(first.map((p) => p.params));
    expect(other.map((p) => p.params)).not.toEqual(first.map((p) => p.params));
    const x = images(4);
    for (let i = 0; i < first.length; i++) {
      const a = first[i]!.apply(x, BOUNDS);
      const b = second[i]!.apply(x, BOUNDS);
      expect(Array.from(await values(b))).toEqual(Array.from(await values(a)));
      tf.dispose([a, b]);
    }
    x.dispose();
  });

  it.each(families)('%s: a value gives each input the same result wherever it sits in the batch', async (_, arbitrary) => {
    const x = images(9);
    const [p] = fc.sample(arbitrary, { seed: 77, numRuns: 1 });
    const whole = p!.apply(x, BOUNDS);
    const last = tf.slice(x, 2, 1);
    const alone = p!.apply(last, BOUNDS);
    const fromWhole = tf.slice(whole, 2, 1);
    expect(Array.from(await values(alone))).toEqual(Array.from(await values(fromWhole)));
    tf.dispose([x, whole, last, alone, fromWhole]);
  });

  it.each(families)('%s: describes itself and lists its parameters', (_, arbitrary) => {
    const [p] = fc.sample(arbitrary, { seed: 1, numRuns: 1 });
    expect(p!.describe().length).toBeGreaterThan(5);
    expect(Object.keys(p!.params).length).toBeGreaterThan(0);
    expect(fc.stringify(p)).toBe(p!.describe());
  });
});

describe('what each perturbation does', () => {
  // Interior values, so that nothing is clipped and the noise is seen exactly.
  const mid = (): tf.Tensor4D => tf.fill([2, 8, 8, 1], 0.5) as tf.Tensor4D;

  it('linf: every element moves by at most ε, and the largest move is close to ε', async () => {
    const x = mid();
    const y = transforms.linf(0.2, 123).apply(x, BOUNDS);
    const delta = Array.from(await values(y)).map((v) => v - 0.5);
    expect(Math.max(...delta.map(Math.abs))).toBeLessThanOrEqual(0.2 + 1e-6);
    expect(Math.max(...delta.map(Math.abs))).toBeGreaterThan(0.18);
    // Both inputs get the same pattern.
    expect(delta.slice(0, 64)).toEqual(delta.slice(64));
    tf.dispose([x, y]);
  });

  it('l2: the move has exactly length ε', async () => {
    const x = mid();
    const y = transforms.l2(0.75, 9).apply(x, BOUNDS);
    const delta = Array.from(await values(y)).slice(0, 64).map((v) => v - 0.5);
    expect(Math.hypot(...delta)).toBeCloseTo(0.75, 5);
    tf.dispose([x, y]);
  });

  it('gaussianNoise: the noise has standard deviation σ', async () => {
    const x = tf.fill([1, 100, 100, 1], 0.5);
    const y = transforms.gaussianNoise(0.05, 4).apply(x, BOUNDS);
    const delta = Array.from(await values(y)).map((v) => v - 0.5);
    const mean = delta.reduce((a, b) => a + b, 0) / delta.length;
    const std = Math.sqrt(delta.reduce((a, b) => a + (b - mean) ** 2, 0) / delta.length);
    expect(Math.abs(mean)).toBeLessThan(0.002);
    expect(std).toBeGreaterThan(0.048);
    expect(std).toBeLessThan(0.052);
    tf.dispose([x, y]);
  });

  it('pixels: exactly k whole pixels change, and fewer pixels are a subset of more', async () => {
    const x = tf.fill([1, 6, 6, 3], 0.5);
    const changed = async (k: number): Promise<Set<number>> => {
      const y = transforms.pixels(k, 21).apply(x, BOUNDS);
      const data = await values(y);
      y.dispose();
      const sites = new Set<number>();
      let elements = 0;
      data.forEach((v, i) => {
        if (v !== 0.5) {
          sites.add(Math.floor(i / 3));
          elements++;
        }
      });
      expect(elements).toBe(3 * sites.size);
      return sites;
    };
    const three = await changed(3);
    const five = await changed(5);
    expect(three.size).toBe(3);
    expect(five.size).toBe(5);
    for (const s of three) expect(five.has(s)).toBe(true);
    expect(() => transforms.pixels(37, 1).apply(x, BOUNDS)).toThrow(/more pixels than an input has[\s\S]*at most 36 pixels/);
    x.dispose();
  });

  it('saltAndPepper: hit pixels go to the bounds, about p of them, nested as p grows', async () => {
    const x = tf.fill([1, 40, 40, 1], 0.5);
    const hits = async (p: number): Promise<Set<number>> => {
      const y = transforms.saltAndPepper(p, 8).apply(x, [-1, 2]);
      const data = await values(y);
      y.dispose();
      const set = new Set<number>();
      data.forEach((v, i) => {
        if (v !== 0.5) {
          expect([-1, 2]).toContain(v);
          set.add(i);
        }
      });
      return set;
    };
    const small = await hits(0.1);
    const large = await hits(0.3);
    expect(small.size / 1600).toBeGreaterThan(0.07);
    expect(small.size / 1600).toBeLessThan(0.13);
    expect(large.size / 1600).toBeGreaterThan(0.26);
    for (const i of small) expect(large.has(i)).toBe(true);
    x.dispose();
  });

  it('brightness and contrast match their formulas, clipped', async () => {
    const x = images(12);
    const data = await values(x);
    const bright = transforms.brightness(-0.3).apply(x, BOUNDS);
    Array.from(await values(bright)).forEach((v, i) => expect(v).toBeCloseTo(Math.max(0, data[i]! - 0.3), 6));
    // Contrast about the per-image, per-channel mean.
    const [n, h, w, c] = x.shape;
    const f = 1.7;
    const scaled = transforms.contrast(f).apply(x, BOUNDS);
    const out = await values(scaled);
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        let sum = 0;
        for (let p = 0; p < h * w; p++) sum += data[(b * h * w + p) * c + ch]!;
        const mean = sum / (h * w);
        for (let p = 0; p < h * w; p++) {
          const i = (b * h * w + p) * c + ch;
          expect(out[i]).toBeCloseTo(Math.min(1, Math.max(0, mean + f * (data[i]! - mean))), 5);
        }
      }
    }
    tf.dispose([x, bright, scaled]);
  });

  it('contrast shrinks to the end of its range nearest to 1 when 1 is outside it', () => {
    const result = fc.check(fc.property(perturbations.contrast(1.2, 1.5), () => false), { seed: 2 });
    const shrunk = result.counterexample![0] as Perturbation;
    expect(shrunk.params.factor).toBe(1.2);
    expect(shrunk.isIdentity).toBe(false);
  });

  it('rotation by 90° is a quarter turn, counter-clockwise', async () => {
    const size = 5;
    const data = Float32Array.from({ length: size * size }, (_, i) => i / (size * size));
    const x = tf.tensor4d(data, [1, size, size, 1]);
    const y = transforms.rotate(90).apply(x, BOUNDS);
    const out = await values(y);
    // Counter-clockwise: the top row ends up as the left column, read bottom to top.
    for (let i = 0; i < size; i++) {
      for (let j = 0; j < size; j++) expect(out[i * size + j]).toBeCloseTo(data[j * size + (size - 1 - i)]!, 5);
    }
    tf.dispose([x, y]);
  });

  it('translation moves content by whole pixels, filling from the edge or a constant', async () => {
    const data = Float32Array.from({ length: 12 }, (_, i) => (i + 1) / 20);
    const x = tf.tensor4d(data, [1, 3, 4, 1]);
    const edge = await values(transforms.translate(1, -1).apply(x, BOUNDS));
    const low = await values(transforms.translate(1, -1, { fill: 'low' }).apply(x, BOUNDS));
    const at = (i: number, j: number): number => data[i * 4 + j]!;
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 4; j++) {
        const si = i + 1; // dy = -1: content moves up
        const sj = j - 1; // dx = +1: content moves right
        expect(edge[i * 4 + j]).toBeCloseTo(at(Math.min(2, si), Math.max(0, sj)), 6);
        expect(low[i * 4 + j]).toBeCloseTo(si > 2 || sj < 0 ? 0 : at(si, sj), 6);
      }
    }
    expect(() => transforms.translate(1, 0, { fill: 3 }).apply(x, BOUNDS)).toThrow(RobustestError);
    x.dispose();
  });

  it('blur is a normalised Gaussian convolution with replicated edges', async () => {
    const x = images(14, [1, 7, 6, 2]);
    const data = await values(x);
    const sigma = 0.8;
    const y = transforms.blur(sigma).apply(x, BOUNDS);
    const out = await values(y);
    const r = Math.ceil(3 * sigma);
    const g = Array.from({ length: 2 * r + 1 }, (_, k) => Math.exp(-((k - r) ** 2) / (2 * sigma * sigma)));
    const total = g.reduce((a, b) => a + b, 0);
    const clamp = (v: number, n: number): number => Math.min(n - 1, Math.max(0, v));
    for (let i = 0; i < 7; i++) {
      for (let j = 0; j < 6; j++) {
        for (let c = 0; c < 2; c++) {
          let sum = 0;
          for (let a = -r; a <= r; a++) {
            for (let b = -r; b <= r; b++) sum += (g[a + r]! * g[b + r]! * data[(clamp(i + a, 7) * 6 + clamp(j + b, 6)) * 2 + c]!) / (total * total);
          }
          expect(out[(i * 6 + j) * 2 + c]).toBeCloseTo(sum, 5);
        }
      }
    }
    tf.dispose([x, y]);
  });

  it('compose applies its steps in order', async () => {
    const x = images(15);
    const steps = [transforms.translate(1), transforms.brightness(0.2), transforms.linf(0.1, 3)];
    const composed = transforms.compose(...steps).apply(x, BOUNDS);
    let manual: tf.Tensor = x;
    for (const step of steps) manual = step.apply(manual, BOUNDS);
    expect(Array.from(await values(composed))).toEqual(Array.from(await values(manual)));
    expect(transforms.compose(...steps).describe()).toBe('translation dx=1 dy=0, then brightness δ=+0.2, then L∞ uniform noise ε=0.1 (seed 3)');
    tf.dispose([x, composed, manual]);
  });

  it('noise magnitudes shrink on a grid of the budget, so a counterexample is within one step of the weakest', () => {
    const result = fc.check(fc.property(perturbations.linf(0.3), (p) => (p.params.epsilon as number) < 0.1234), { seed: 3 });
    const eps = result.counterexample![0].params.epsilon as number;
    expect(eps).toBeGreaterThanOrEqual(0.1234);
    expect(eps - 0.3 / GRID_STEPS).toBeLessThan(0.1234);
  });
});

describe('argument errors', () => {
  it('budgets and counts are checked when an arbitrary is built', () => {
    const cases: [() => unknown, RegExp][] = [
      [() => perturbations.linf(-0.1), /epsilon must be a finite number ≥ 0[\s\S]*Received: -0\.1/],
      [() => perturbations.l2(Number.NaN), /Received: NaN/],
      [() => perturbations.pixels(2.5), /k must be an integer ≥ 0/],
      [() => perturbations.saltAndPepper(1.5), /p must be a finite number ≥ 0 and ≤ 1/],
      [() => perturbations.contrast(2, 1), /min must not exceed max/],
      [() => perturbations.rotation(270), /degrees must be a finite number ≥ 0 and ≤ 180/],
      [() => perturbations.translation(-1), /pixels must be an integer ≥ 0/],
      [() => perturbations.rotation(5, { fill: 'mirror' as never }), /unknown fill[\s\S]*Received: "mirror"/],
      [() => perturbations.compose(), /needs at least one perturbation/],
      [() => perturbations.compose(3 as never), /takes perturbations[\s\S]*Received: 3/],
      [() => transforms.compose(perturbations.linf(0.1) as never), /step 0 is not a fixed perturbation/],
      [() => transforms.translate(0.5), /dx must be an integer/],
      [() => transforms.linf(0.1, -4), /seed must be an integer in \[0, 2³¹ − 1\]/],
    ];
    for (const [make, message] of cases) {
      expect(make).toThrow(RobustestError);
      expect(make).toThrow(message);
    }
  });

  it('spatial perturbations refuse inputs that are not NHWC images', () => {
    const flat = tf.zeros([2, 10]);
    for (const p of [transforms.rotate(3), transforms.translate(1), transforms.blur(1)]) {
      expect(() => p.apply(flat, BOUNDS)).toThrow(/applies to images[\s\S]*\[N, height, width, channels\][\s\S]*Received: \[2, 10\]/);
    }
    // Noise applies to any batch.
    const y = transforms.gaussianNoise(0.1, 1).apply(flat, BOUNDS);
    expect(y.shape).toEqual([2, 10]);
    tf.dispose([flat, y]);
  });
});
