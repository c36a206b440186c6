/**
 * Backward rows that read only where they are nonzero (each slot's support): a convolution's
 * sparse transpose against its dense one, and blocks of rows started at single neurons of inner
 * convolutions against one full backward pass per row, on networks shaped like the bundled CNN
 * and on strided, dilated, padded and depthwise ones, L∞ and L2.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/random.js';
import { lowerLayersModel } from '../../src/certify/model.js';
import { Conv2DBound } from '../../src/certify/ops/convolution.js';
import { MaxPoolBound } from '../../src/certify/ops/pooling.js';
import { BoundPropagation } from '../../src/certify/propagation.js';
import { region, type CertifyNorm } from '../../src/certify/region.js';
import { Support } from '../../src/certify/support.js';
import { convolutional } from './networks.js';

/** conv → relu → max pool → conv → relu → max pool → dense relu → dense, as the bundled CNN on 12×12 images. */
function smallCnn(seed: number): tf.LayersModel {
  const rng = new Rng(seed);
  const init = () => ({
    kernelInitializer: tf.initializers.randomNormal({ stddev: 0.5, seed: rng.integerSeed() }),
    biasInitializer: tf.initializers.randomNormal({ stddev: 0.2, seed: rng.integerSeed() }),
  });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 3, kernelSize: 3, activation: 'relu', ...init() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', ...init() }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 6, activation: 'relu', ...init() }),
      tf.layers.dense({ units: 3, ...init() }),
    ],
  });
}

/** A digit-like image: mostly background 0, a few strokes. */
function image(n: number, rng: Rng): Float64Array {
  return Float64Array.from({ length: n }, () => (rng.uniform(0, 1) < 0.6 ? 0 : rng.uniform(0, 1)));
}

function close(a: ArrayLike<number>, b: ArrayLike<number>, tolerance: number): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) {
    if (!(Math.abs(a[i]! - b[i]!) <= tolerance * (1 + Math.abs(b[i]!)))) expect.fail(`row ${i}: ${a[i]} vs ${b[i]}`);
  }
}

describe('sparse backward rows', () => {
  it('lets a max pool choose the same input whatever order its lower bounds were summed in', () => {
    const pool = new MaxPoolBound('pool', [1, 2, 1], { size: [1, 2], strides: [1, 2], padding: 'valid' });
    const relax = (second: number) => pool.relax({ lower: Float64Array.of(0.3, second), upper: Float64Array.of(1, 1) }).chosen[0];
    // 0.1 + 0.2 and 0.3 differ by one rounding: tied, the first wins.
    expect(relax(0.1 + 0.2)).toBe(0);
    expect(relax(0.3 + 1e-9)).toBe(1);
  });

  it('transposes a convolution from its listed outputs as the dense transpose does, listing every input it writes', () => {
    const rng = new Rng(3);
    for (const [strides, dilations, padding] of [
      [[1, 1], [1, 1], 'valid'],
      [[2, 1], [1, 2], 'same'],
      [[1, 2], [2, 1], [1, 0, 2, 1]],
    ] as const) {
      const [kH, kW, inC, outC] = [3, 2, 2, 3];
      const kernel = Float64Array.from({ length: kH * kW * inC * outC }, () => rng.normal());
      const conv = new Conv2DBound('conv', [7, 6, inC], kernel, [kH, kW, inC, outC], null, strides, dilations, padding as never);
      const n = conv.outputSize;
      const m = 7 * 6 * inC;
      const rows = 5;
      const from = new Support(n);
      const a = new Float64Array(rows * n);
      // A few nonzero entries per row, some rows all zero, some entries listed but zero.
      for (let j = 0; j < rows; j++) {
        if (j === 2) continue;
        for (let k = 0; k < 4; k++) {
          const e = rng.int(n);
          a[j * n + e] = rng.normal();
          from.add(e);
        }
      }
      from.add(rng.int(n));
      const into = new Float64Array(rows * m);
      const to = new Support(m);
      conv.transposeSparse(a, rows, from, into, to);
      for (let j = 0; j < rows; j++) {
        const expected = new Float64Array(m);
        conv.transpose(a.subarray(j * n, (j + 1) * n), [expected]);
        close(into.subarray(j * m, (j + 1) * m), expected, 1e-12);
        for (let i = 0; i < m; i++) if (expected[i] !== 0) expect(to.has(i)).toBe(true);
      }
      // The scratch is left clean: the full support gives the dense transpose too.
      const all = new Support(n);
      all.fill();
      const again = new Float64Array(rows * m);
      conv.transposeSparse(a, rows, all, again, new Support(m));
      close(again, into, 1e-12);
    }
  });

  it('bounds a relu’s inputs as auto_LiRPA’s sparse intermediate bounds: neurons its reference shows stable keep it, the others get CROWN, and every neuron does once over 90% are unstable', () => {
    const model = smallCnn(5);
    const prop = new BoundPropagation(lowerLayersModel(model));
    const rng = new Rng(6);
    const n0 = prop.graph.shapes[prop.graph.input]!.reduce((a, b) => a * b, 1);
    const seen = { kept: 0, computed: 0, off: 0, whole: 0 };
    for (const [norm, epsilon, bounds] of [['linf', 0.05, [0, 1]], ['linf', 0.1, [0, 1]], ['linf', 0.2, [0, 1]], ['l2', 0.4, [0, 1]], ['l2', 1, [0, 1]], ['linf', 2, [-Infinity, Infinity]]] as [CertifyNorm, number, [number, number]][]) {
      const r = region(image(n0, rng), epsilon, norm, bounds);
      const state = prop.linearBounds(r);
      const ibp = prop.interval(r);
      prop.graph.nodes.forEach((node, i) => {
        if (node.op.kind !== 'relu') return;
        const slot = node.inputs[0]!;
        const { lower, upper } = state.slots[slot]!;
        const relaxation = state.relaxations[i] as { lowerSlope: Float64Array; upperSlope: Float64Array };
        // The reference: IBP from the bounds found before this slot (CROWN's, which IBP from the input may beat here and there).
        const reference = prop.reference(slot, r, state);
        const size = lower.length;
        let unstable = 0;
        for (let j = 0; j < size; j++) {
          if (reference.lower[j]! < 0 && reference.upper[j]! > 0) unstable++;
        }
        const whole = unstable > 0.9 * size;
        if (whole) seen.whole++;
        for (let j = 0; j < size; j++) {
          const stable = reference.lower[j]! >= 0 || reference.upper[j]! <= 0;
          // An affine function of the input bounded exactly: no backward pass of its own.
          if (lower[j] === ibp[slot]!.lower[j] && upper[j] === ibp[slot]!.upper[j] && prop.graph.nodes[i - 1]?.inputs[0] === prop.graph.input) continue;
          if (stable && !whole) {
            expect(lower[j]).toBe(reference.lower[j]);
            expect(upper[j]).toBe(reference.upper[j]);
            seen.kept++;
            continue;
          }
          const c = new Float64Array(size);
          c[j] = -1;
          const crownUpper = -prop.lowerBound(slot, c, r, state);
          c[j] = 1;
          const crownLower = prop.lowerBound(slot, c, r, state);
          expect(Math.abs(upper[j]! - crownUpper)).toBeLessThan(1e-9 * (1 + Math.abs(crownUpper)));
          if (upper[j]! <= 0) {
            // Off: the reference's lower bound is kept (sound, looser), and the relaxation is zero either way.
            expect(lower[j]).toBe(reference.lower[j]);
            expect(lower[j]!).toBeLessThanOrEqual(crownLower + 1e-9);
            expect(relaxation.lowerSlope[j]).toBe(0);
            expect(relaxation.upperSlope[j]).toBe(0);
            seen.off++;
          } else {
            expect(Math.abs(lower[j]! - crownLower)).toBeLessThan(1e-9 * (1 + Math.abs(crownLower)));
            seen.computed++;
          }
        }
      });
    }
    // Every case occurs (the seed and radii are chosen so).
    expect(seen.kept).toBeGreaterThan(0);
    expect(seen.computed).toBeGreaterThan(0);
    expect(seen.off).toBeGreaterThan(0);
    expect(seen.whole).toBeGreaterThan(0);
    model.dispose();
  });

  it.each([
    ['CNN', () => smallCnn(1)],
    ['convolutional', () => convolutional(2)],
  ])('bounds single neurons of inner layers a block at a time as one full backward pass per row (%s)', (_, build) => {
    const model = build();
    const prop = new BoundPropagation(lowerLayersModel(model));
    const rng = new Rng(4);
    const n0 = prop.graph.shapes[prop.graph.input]!.reduce((a, b) => a * b, 1);
    for (const norm of ['linf', 'l2'] as CertifyNorm[]) {
      const r = region(image(n0, rng), norm === 'linf' ? 0.05 : 0.4, norm, [0, 1]);
      const state = prop.linearBounds(r);
      const inner = prop.graph.nodes.filter((node) => node.op.affine && node.inputs[0] !== prop.graph.input);
      expect(inner.length).toBeGreaterThan(1);
      for (const node of inner) {
        const size = prop.graph.shapes[node.output]!.reduce((a, b) => a * b, 1);
        // ±e_j of every other neuron, more rows than one block.
        const picked = Array.from({ length: Math.ceil(size / 2) }, (_, k) => 2 * k);
        const blocked = prop.lowerBounds(node.output, 2 * picked.length, (k, into) => (into[picked[k >> 1]!] = k & 1 ? -1 : 1), r, state, (k) => picked[k >> 1]!);
        const single = picked.flatMap((j) =>
          [1, -1].map((sign) => {
            const c = new Float64Array(size);
            c[j] = sign;
            return prop.lowerBound(node.output, c, r, state);
          }),
        );
        close(blocked, single, 1e-11);
      }
    }
    model.dispose();
  });
});
