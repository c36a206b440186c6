/**
 * The SIMD kernels of bound propagation (src/certify/wasm) against the portable route they
 * replace: the embedded binary is kernels.wat compiled; a convolution's IBP and plain products are
 * bit for bit the portable ones (same sums in the same order); a dense layer's products agree to
 * float64 rounding; a backward row's last step through the first dense layer, formed and
 * minimised inside one kernel call, equals forming Wᵀλ and minimising it; the margin rows through
 * the last dense layer equal the minimum over every corner of the box (exact for a linear
 * function); relu's relaxation written in one loop equals its per-input lines; a convolution,
 * relu and max pool bounded in one kernel call give the bounds of the three ops one after the
 * other, and IBP's margin rows of a CNN are the same with and without that fusion.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { CERTIFY_KERNELS, binarySource, compileKernels } from '../../scripts/kernels.js';
import { Rng } from '../../src/engine/random.js';
import { Conv2DBound } from '../../src/certify/ops/convolution.js';
import { DenseBound } from '../../src/certify/ops/dense.js';
import { DenseWeights } from '../../src/certify/ops/dense-batch.js';
import { CERTIFY_KERNELS_BASE64 } from '../../src/certify/wasm/kernels-binary.js';
import { kernelsAvailable } from '../../src/certify/wasm/heap.js';
import type { Padding } from '../../src/graph/types.js';
import { minimize, region, type CertifyNorm } from '../../src/certify/region.js';
import { LeakyReluBound } from '../../src/certify/ops/activation.js';
import { MaxPoolBound } from '../../src/certify/ops/pooling.js';
import { lowerLayersModel } from '../../src/certify/model.js';
import { specificationRows } from '../../src/certify/margins.js';
import { BoundPropagation } from '../../src/certify/propagation.js';
import * as tf from '@tensorflow/tfjs';

const SWITCH = 'ROBUSTEST_CERTIFY_KERNELS';

/** Runs `body` on the portable route: objects made (or first used) inside it never take the kernels. */
function portable<T>(body: () => T): T {
  const before = process.env[SWITCH];
  process.env[SWITCH] = '0';
  try {
    return body();
  } finally {
    if (before === undefined) delete process.env[SWITCH];
    else process.env[SWITCH] = before;
  }
}

function randomArray(n: number, rng: Rng, scale = 1): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal() * scale);
}

/** Boxes of `count` samples end to end: mostly one repeated box (a background), some random. */
function boxes(count: number, n: number, rng: Rng): { lower: Float64Array; upper: Float64Array } {
  const lower = new Float64Array(count * n);
  const upper = new Float64Array(count * n);
  for (let i = 0; i < count * n; i++) {
    const background = (i / n) % 3 !== 2 && rng.uniform(0, 1) < 0.7;
    const c = background ? 0 : rng.uniform(0, 1);
    const r = background ? 0.05 : rng.uniform(0, 0.2);
    lower[i] = c - r;
    upper[i] = c + r;
  }
  return { lower, upper };
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tolerance: number): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i]! - b[i]!) <= tolerance * (1 + Math.abs(b[i]!)))) expect.fail(`index ${i}: ${a[i]} vs ${b[i]}`);
  }
}

describe('certification kernels', () => {
  afterEach(() => expect(process.env[SWITCH]).toBeUndefined());

  it('kernels-binary.ts is kernels.wat compiled (run `npm run build:kernels` after editing it)', async () => {
    const bytes = await compileKernels(CERTIFY_KERNELS);
    expect(Buffer.from(CERTIFY_KERNELS_BASE64, 'base64').equals(Buffer.from(bytes))).toBe(true);
    expect(readFileSync(CERTIFY_KERNELS.binary, 'utf8')).toBe(binarySource(bytes, CERTIFY_KERNELS));
  });

  it('run on Node 20, and can be switched off', () => {
    expect(kernelsAvailable()).toBe(true);
    expect(portable(kernelsAvailable)).toBe(false);
  });

  it.each([
    { inputs: 37, units: 5 },
    { inputs: 64, units: 16 },
    { inputs: 50, units: 21 },
  ])('a dense layer’s products ($inputs → $units) equal the portable route’s', ({ inputs, units }) => {
    const rng = new Rng(inputs * 100 + units);
    const kernel = randomArray(inputs * units, rng, 0.4);
    const count = 7;
    const { lower: x, upper: r } = boxes(count, inputs, rng);
    for (let i = 0; i < r.length; i++) r[i] = Math.abs(r[i]!);
    const simd = new DenseWeights(kernel, inputs, units);
    const plain = portable(() => {
      const w = new DenseWeights(kernel, inputs, units);
      w.simd();
      return w;
    });
    expect(simd.simd()).not.toBeNull();
    expect(plain.simd()).toBeNull();
    for (const radius of [r, null]) {
      const [a, aAbs, b, bAbs] = [0, 0, 0, 0].map(() => new Float64Array(count * units)) as [Float64Array, Float64Array, Float64Array, Float64Array];
      simd.products(x, radius, count, a, radius && aAbs);
      plain.products(x, radius, count, b, radius && bAbs);
      close(a, b, 1e-13);
      if (radius) close(aAbs, bAbs, 1e-13);
    }
  });

  it('a dense layer’s IBP equals the portable route’s, bias included', () => {
    const rng = new Rng(5);
    const [inputs, units, count] = [30, 11, 6];
    const kernel = randomArray(inputs * units, rng, 0.4);
    const bias = randomArray(units, rng, 0.3);
    const box = boxes(count, inputs, rng);
    const simd = new DenseBound('dense', [inputs], kernel, [inputs, units], bias);
    const plain = portable(() => {
      const op = new DenseBound('dense', [inputs], kernel, [inputs, units], bias);
      op.weights.simd();
      return op;
    });
    const a = simd.intervalBatch(box, count);
    const b = plain.intervalBatch(box, count);
    close(a.lower, b.lower, 1e-13);
    close(a.upper, b.upper, 1e-13);
  });

  const convolutions: { name: string; inShape: [number, number, number]; kernel: [number, number, number, number]; strides: [number, number]; dilations: [number, number]; padding: Padding }[] = [
    { name: 'valid, 8 channels (one chunk)', inShape: [9, 9, 1], kernel: [3, 3, 1, 8], strides: [1, 1], dilations: [1, 1], padding: 'valid' },
    { name: 'valid, 16 channels from 3', inShape: [7, 8, 3], kernel: [3, 3, 3, 16], strides: [1, 1], dilations: [1, 1], padding: 'valid' },
    { name: 'same, strides 2, 5 channels (padded chunk)', inShape: [8, 7, 2], kernel: [3, 2, 2, 5], strides: [2, 2], dilations: [1, 1], padding: 'same' },
    { name: 'dilated, 11 channels', inShape: [9, 9, 2], kernel: [2, 3, 2, 11], strides: [1, 2], dilations: [2, 1], padding: 'same' },
  ];

  it.each(convolutions)('a convolution’s IBP and plain products are bit for bit the portable route’s: $name', ({ inShape, kernel: shape, strides, dilations, padding }) => {
    const rng = new Rng(shape[3] * 7 + inShape[2]);
    const kernel = randomArray(shape.reduce((a, b) => a * b, 1), rng, 0.5);
    const bias = randomArray(shape[3], rng, 0.2);
    const make = () => new Conv2DBound('conv', inShape, kernel, shape, bias, strides, dilations, padding);
    const simd = make();
    const plain = make();
    const count = 3;
    const box = boxes(count, inShape[0] * inShape[1] * inShape[2], rng);
    const b = portable(() => plain.intervalBatch(box, count));
    const a = simd.intervalBatch(box, count);
    expect(Array.from(a.lower)).toEqual(Array.from(b.lower));
    expect(Array.from(a.upper)).toEqual(Array.from(b.upper));
    expect(Array.from(simd.linearBatch(box.lower, count))).toEqual(Array.from(plain.linearBatch(box.lower, count)));
    // The portable route stays portable once chosen; the kernel route gives the one-sample linear() too.
    const one = new Float64Array(simd.outputSize);
    simd.linear([box.lower.subarray(0, inShape[0] * inShape[1] * inShape[2])], one, false);
    const bias1 = simd.bias!;
    close(
      simd.linearBatch(box.lower, 1),
      one.map((v, i) => v + bias1[i]!),
      1e-13,
    );
  });

  it('bounds margin rows through the last dense layer as the minimum over every corner of the box', () => {
    const rng = new Rng(3);
    const [inputs, units] = [7, 4];
    const kernel = randomArray(inputs * units, rng, 0.6);
    const bias = randomArray(units, rng, 0.3);
    const op = new DenseBound('dense', [inputs], kernel, [inputs, units], bias);
    const { lower, upper } = boxes(1, inputs, rng);
    const rows = [
      Float64Array.from([1, -1, 0, 0]),
      Float64Array.from([0, 0, -1, 1]),
      Float64Array.from([0, 2.5, 0, 0]),
      Float64Array.from([0.5, -1, 0.25, 3]),
      new Float64Array(units),
    ];
    const found = op.rowLowerBounds(rows, { lower, upper });
    rows.forEach((c, k) => {
      let best = Infinity;
      const z = new Float64Array(inputs);
      const y = new Float64Array(units);
      for (let corner = 0; corner < 1 << inputs; corner++) {
        for (let i = 0; i < inputs; i++) z[i] = corner & (1 << i) ? upper[i]! : lower[i]!;
        op.linear([z], y, false);
        let value = 0;
        for (let j = 0; j < units; j++) value += c[j]! * (y[j]! + bias[j]!);
        best = Math.min(best, value);
      }
      expect(found[k]).toBeCloseTo(best, 12);
      expect(found[k]).toBeLessThanOrEqual(best + 1e-12);
    });
  });

  it.each([
    { norm: 'linf' as CertifyNorm, inputs: 6, units: 5 },
    { norm: 'l2' as CertifyNorm, inputs: 6, units: 5 },
    { norm: 'linf' as CertifyNorm, inputs: 33, units: 12 },
    { norm: 'l2' as CertifyNorm, inputs: 33, units: 12 },
  ])('forms Wᵀλ and minimises it over the region in one call ($norm, $inputs inputs), whatever the memory held before', ({ norm, inputs, units }) => {
    const rng = new Rng(inputs + units + (norm === 'l2' ? 1 : 0));
    const kernel = randomArray(inputs * units, rng, 0.5);
    const op = new DenseBound('dense', [inputs], kernel, [inputs, units], null);
    const simd = op.weights.simd()!;
    // Working arrays of other calls first: the padding the kernel reads must still be zero.
    const count = 9;
    const box = boxes(count, inputs, rng);
    op.intervalBatch(box, count);
    // Two pairs of rows (one kernel call each) and one left over.
    const rows = 5;
    const lambdas = randomArray(rows * units, rng);
    lambdas[1] = 0;
    lambdas[units + 2] = 0;
    for (const epsilon of [0.05, 0.4]) {
      const r = region(Float64Array.from({ length: inputs }, (_, i) => (i % 3 === 0 ? 0 : rng.uniform(0, 1))), epsilon, norm, [0, 1]);
      const found = simd.rowMinima(lambdas, rows, r);
      for (let j = 0; j < rows; j++) {
        const a = new Float64Array(inputs);
        for (let i = 0; i < inputs; i++) for (let u = 0; u < units; u++) a[i]! += kernel[i * units + u]! * lambdas[j * units + u]!;
        expect(found[j]).toBeCloseTo(minimize(r, a), 12);
      }
    }
  });

  it('relu and leaky relu relax every input as their per-input lines do', () => {
    const rng = new Rng(8);
    const n = 200;
    const lower = Float64Array.from({ length: n }, () => rng.normal());
    const upper = lower.map((l, i) => (i % 7 === 0 ? l : l + Math.abs(rng.normal())));
    for (const alpha of [0, 0.1, 1]) {
      const op = new LeakyReluBound('relu', [n], alpha);
      const r = op.relax({ lower, upper });
      const free: number[] = [];
      for (let i = 0; i < n; i++) {
        const { lower: low, upper: up, free: isFree } = op.lines(lower[i]!, upper[i]!);
        expect([r.lowerSlope[i], r.lowerIntercept[i], r.upperSlope[i], r.upperIntercept[i]]).toEqual([low.slope, low.intercept, up.slope, up.intercept]);
        if (isFree) free.push(i);
      }
      expect(Array.from(r.free)).toEqual(free);
      expect([r.minSlope, r.maxSlope]).toEqual([Math.min(alpha, 1), Math.max(alpha, 1)]);
    }
  });

  it('minimize() over a box is the minimum over its corners', () => {
    const rng = new Rng(12);
    const n = 8;
    const r = region(Float64Array.from({ length: n }, () => rng.uniform(0, 1)), 0.2, 'linf', [0, 1]);
    for (let k = 0; k < 5; k++) {
      const a = randomArray(n, rng);
      let best = Infinity;
      for (let corner = 0; corner < 1 << n; corner++) {
        let v = 0;
        for (let i = 0; i < n; i++) v += a[i]! * (corner & (1 << i) ? r.upper[i]! : r.lower[i]!);
        best = Math.min(best, v);
      }
      expect(minimize(r, a)).toBeCloseTo(best, 13);
    }
  });

  const pooled: { name: string; inShape: [number, number, number]; kernel: [number, number, number, number]; padding: Padding; pool: { size: [number, number]; strides: [number, number]; padding: Padding } }[] = [
    { name: 'the bundled CNN’s first block', inShape: [12, 12, 1], kernel: [3, 3, 1, 8], padding: 'valid', pool: { size: [2, 2], strides: [2, 2], padding: 'valid' } },
    { name: 'an odd output, 16 channels', inShape: [9, 9, 3], kernel: [3, 3, 3, 16], padding: 'valid', pool: { size: [2, 2], strides: [2, 2], padding: 'valid' } },
    { name: 'overlapping windows, same padding, 5 channels', inShape: [8, 7, 2], kernel: [3, 3, 2, 5], padding: 'same', pool: { size: [3, 3], strides: [2, 2], padding: 'same' } },
  ];

  it.each(pooled)('bounds conv → relu → max pool in one call as the three ops one after the other: $name', ({ inShape, kernel: shape, padding, pool: config }) => {
    const rng = new Rng(shape[3] + inShape[0]);
    const kernel = randomArray(shape.reduce((a, b) => a * b, 1), rng, 0.5);
    const bias = randomArray(shape[3], rng, 0.2);
    const conv = new Conv2DBound('conv', inShape, kernel, shape, bias, [1, 1], [1, 1], padding);
    const relu = new LeakyReluBound('relu', conv.outputShape, 0);
    const pool = new MaxPoolBound('pool', conv.outputShape, config);
    const count = 3;
    const box = boxes(count, inShape[0] * inShape[1] * inShape[2], rng);
    const stepwise = pool.intervalBatch(relu.interval(conv.intervalBatch(box, count)), count);
    const fused = conv.intervalReluPool(box, pool, count)!;
    // Equal values (a relu's zero may differ in sign).
    expect(Array.from(fused.lower, (v) => v + 0)).toEqual(Array.from(stepwise.lower, (v) => v + 0));
    expect(Array.from(fused.upper, (v) => v + 0)).toEqual(Array.from(stepwise.upper, (v) => v + 0));
    expect(portable(() => new Conv2DBound('conv', inShape, kernel, shape, bias, [1, 1], [1, 1], padding).intervalReluPool(box, pool, count))).toBeNull();
  });

  it.each(['linf', 'l2'] as CertifyNorm[])('gives a CNN’s IBP margin rows with and without the fused kernel (%s)', (norm) => {
    const rng = new Rng(norm === 'l2' ? 31 : 30);
    const init = () => ({
      kernelInitializer: tf.initializers.randomNormal({ stddev: 0.4, seed: rng.integerSeed() }),
      biasInitializer: tf.initializers.randomNormal({ stddev: 0.2, seed: rng.integerSeed() }),
    });
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 8, kernelSize: 3, activation: 'relu', ...init() }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', ...init() }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 5, ...init() }),
      ],
    });
    const prop = new BoundPropagation(lowerLayersModel(model));
    model.dispose();
    const regions = Array.from({ length: 4 }, () => region(Float64Array.from({ length: 144 }, () => (rng.uniform(0, 1) < 0.6 ? 0 : rng.uniform(0, 1))), norm === 'l2' ? 0.3 : 0.02, norm, [0, 1]));
    const rows = regions.map((_, k) => specificationRows(k % 5, 5));
    const batched = prop.intervalRowsBatch(regions, rows);
    regions.forEach((r, k) => close(batched[k]!, prop.intervalRows(r, rows[k]!), 1e-12));
  });
});
