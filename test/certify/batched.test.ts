/**
 * The batched paths of bound propagation against their one-at-a-time definitions: a dense layer's
 * products (the sparse way around a repeated value and the dense way) against plain sums, blocks of
 * backward rows against one backward pass per row, IBP of many regions against interval() of each
 * (L∞ and L2), and CROWN started from IBP bounds found for many regions against CROWN alone.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/random.js';
import { lowerLayersModel } from '../../src/certify/model.js';
import { MarginBounds, shareIntervals } from '../../src/certify/margins.js';
import { DenseWeights } from '../../src/certify/ops/dense-batch.js';
import { BoundPropagation } from '../../src/certify/propagation.js';
import { region, type CertifyNorm, type Region } from '../../src/certify/region.js';
import { branching, convolutional, denseRelu } from './networks.js';

/** Relative difference scaled by the size of the values compared. */
function close(a: ArrayLike<number>, b: ArrayLike<number>, tolerance = 1e-12): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    const scale = 1 + Math.abs(b[i]!);
    if (!(Math.abs(a[i]! - b[i]!) <= tolerance * scale)) expect.fail(`index ${i}: ${a[i]} vs ${b[i]}`);
  }
}

/** An MLP over 8×8 images, as the bundled one over 28×28: flatten, dense relu, dense. */
function imageMlp(seed: number): tf.LayersModel {
  const rng = new Rng(seed);
  const init = () => ({
    kernelInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: rng.integerSeed() }),
    biasInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: rng.integerSeed() }),
  });
  return tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [8, 8, 1] }),
      tf.layers.dense({ units: 20, activation: 'relu', ...init() }),
      tf.layers.dense({ units: 5, ...init() }),
    ],
  });
}

/** Images that are mostly background (0), some mostly 1, and some with no repeated value. */
function images(count: number, n: number, rng: Rng): Float64Array[] {
  return Array.from({ length: count }, (_, k) => {
    const kind = k % 3;
    return Float64Array.from({ length: n }, () => {
      if (kind === 2) return rng.uniform(0, 1);
      const background = kind === 0 ? 0 : 1;
      return rng.uniform(0, 1) < 0.7 ? background : rng.uniform(0, 1);
    });
  });
}

function inputSize(model: tf.LayersModel): number {
  return (model.inputs[0]!.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
}

describe('batched bound propagation', () => {
  it('computes a dense layer’s products the sparse way and the dense way as plain sums', () => {
    const rng = new Rng(11);
    const inputs = 37;
    const units = 9;
    const kernel = Float64Array.from({ length: inputs * units }, () => rng.normal());
    const weights = new DenseWeights(kernel, inputs, units);
    const vectors = images(11, inputs, rng);
    const x = new Float64Array(vectors.length * inputs);
    const r = new Float64Array(vectors.length * inputs);
    vectors.forEach((v, k) => {
      x.set(v, k * inputs);
      r.set(v.map((value) => (value === 0 ? 0.05 : 0.05 + value / 10)), k * inputs);
    });
    const out = new Float64Array(vectors.length * units);
    const outAbs = new Float64Array(vectors.length * units);
    weights.products(x, r, vectors.length, out, outAbs);
    const alone = new Float64Array(vectors.length * units);
    weights.products(x, null, vectors.length, alone, null);
    const expected = new Float64Array(vectors.length * units);
    const expectedAbs = new Float64Array(vectors.length * units);
    for (let v = 0; v < vectors.length; v++) {
      for (let u = 0; u < units; u++) {
        for (let i = 0; i < inputs; i++) {
          expected[v * units + u]! += kernel[i * units + u]! * x[v * inputs + i]!;
          expectedAbs[v * units + u]! += Math.abs(kernel[i * units + u]!) * r[v * inputs + i]!;
        }
      }
    }
    close(out, expected);
    close(outAbs, expectedAbs);
    close(alone, expected);
  });

  it.each([
    ['image MLP', () => imageMlp(1)],
    ['dense relu', () => denseRelu(2, [6, 12, 12, 4])],
    ['convolutional', () => convolutional(3)],
    ['branching', () => branching(4)],
  ])('bounds rows a block at a time as one backward pass per row does (%s)', (_, build) => {
    const model = build();
    const prop = new BoundPropagation(lowerLayersModel(model));
    const rng = new Rng(5);
    for (const norm of ['linf', 'l2'] as CertifyNorm[]) {
      const [x] = images(1, inputSize(model), rng);
      const r = region(x!, norm === 'linf' ? 0.05 : 0.3, norm, [0, 1]);
      const state = prop.linearBounds(r);
      const out = prop.graph.output;
      // More rows than one block holds, some of them sparse.
      const rows = Array.from({ length: 37 }, (_, k) => Float64Array.from({ length: prop.outputSize }, () => (k % 3 === 0 && rng.uniform(0, 1) < 0.5 ? 0 : rng.normal())));
      const blocked = prop.lowerBounds(out, rows.length, (k, into) => into.set(rows[k]!), r, state);
      close(blocked, rows.map((c) => prop.lowerBound(out, c, r, state)), 1e-11);
    }
    model.dispose();
  });

  it.each([
    ['image MLP', () => imageMlp(6)],
    ['convolutional', () => convolutional(7)],
    ['branching', () => branching(8)],
  ])('finds the IBP bounds of many regions at once as of each region alone, L∞ and L2 (%s)', (_, build) => {
    const model = build();
    const prop = new BoundPropagation(lowerLayersModel(model));
    const rng = new Rng(9);
    for (const norm of ['linf', 'l2'] as CertifyNorm[]) {
      const regions: Region[] = images(7, inputSize(model), rng).map((x, k) => region(x, (norm === 'linf' ? 0.02 : 0.2) * (1 + k / 3), norm, [0, 1]));
      const views = prop.intervalViews(regions);
      regions.forEach((r, k) => {
        const alone = prop.interval(r);
        alone.forEach((box, slot) => {
          if (!box) return;
          close(views[k]![slot]!.lower, box.lower);
          close(views[k]![slot]!.upper, box.upper);
        });
      });
    }
    model.dispose();
  });

  it.each([
    ['convolutional', () => convolutional(13)],
    ['branching', () => branching(14)],
  ])('bounds rows of many regions from reused arrays as each region alone, call after call (%s)', (_, build) => {
    const model = build();
    const prop = new BoundPropagation(lowerLayersModel(model));
    const rng = new Rng(15);
    // Calls of different sizes, norms and radii in turn: nothing of one call may leak into the next.
    for (const [count, norm, epsilon] of [[5, 'linf', 0.05], [3, 'l2', 0.4], [5, 'linf', 0.01], [6, 'l2', 0.1]] as const) {
      const regions = images(count, inputSize(model), rng).map((x) => region(x, epsilon, norm, [0, 1]));
      const rows = regions.map((_, k) => Array.from({ length: 3 }, (__, j) => Float64Array.from({ length: prop.outputSize }, (___, i) => (i === (k + j) % prop.outputSize ? 1 : i === (k + j + 1) % prop.outputSize ? -1 : 0))));
      const found = prop.intervalRowsBatch(regions, rows);
      regions.forEach((r, k) => close(found[k]!, prop.intervalRows(r, rows[k]!)));
    }
    model.dispose();
  });

  it('gives CROWN the same margins from IBP bounds shared by many regions as from its own', () => {
    const model = imageMlp(10);
    const prop = new BoundPropagation(lowerLayersModel(model));
    const rng = new Rng(12);
    for (const norm of ['linf', 'l2'] as CertifyNorm[]) {
      const xs = images(6, inputSize(model), rng);
      const make = () => xs.map((x, k) => new MarginBounds(prop, region(x, norm === 'linf' ? 0.03 : 0.3, norm, [0, 1]), k % 5));
      const shared = make();
      shareIntervals(prop, shared);
      const alone = make();
      for (const method of ['ibp', 'crown', 'alpha-crown'] as const) {
        shared.forEach((b, k) => close([b.refine(method)], [alone[k]!.refine(method)], 1e-11));
      }
    }
    model.dispose();
  });

  it.each([
    ['image MLP', () => imageMlp(12)],
    ['convolutional', () => convolutional(13)],
  ])('hands out IBP bounds that a later call leaves as they were (%s)', (_, build) => {
    const model = build();
    const prop = new BoundPropagation(lowerLayersModel(model));
    const rng = new Rng(14);
    for (const norm of ['linf', 'l2'] as CertifyNorm[]) {
      const first = images(4, inputSize(model), rng).map((x) => region(x, norm === 'linf' ? 0.03 : 0.3, norm, [0, 1]));
      const views = prop.intervalViews(first);
      const copies = views.map((slots) => slots.map((box) => box && { lower: Float64Array.from(box.lower), upper: Float64Array.from(box.upper) }));
      // Other regions, more of them, through every path that reuses arrays.
      const second = images(6, inputSize(model), rng).map((x) => region(x, norm === 'linf' ? 0.1 : 0.8, norm, [0, 1]));
      prop.intervalViews(second);
      prop.intervalRowsBatch(second, second.map(() => [Float64Array.from({ length: prop.outputSize }, (_, j) => (j === 0 ? 1 : 0))]));
      views.forEach((slots, k) =>
        slots.forEach((box, slot) => {
          if (!box) return;
          expect(Array.from(box.lower)).toEqual(Array.from(copies[k]![slot]!.lower));
          expect(Array.from(box.upper)).toEqual(Array.from(copies[k]![slot]!.upper));
        }),
      );
    }
    model.dispose();
  });
});
