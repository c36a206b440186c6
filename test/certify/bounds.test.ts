/**
 * Bound propagation against oracles: the float64 forward equals model.predict; on an affine
 * network every method equals the exact minimum (attained at a box corner); on random networks
 * with every supported layer no corner or random point of the region beats any bound; CROWN is
 * tighter than IBP on random ReLU networks; α-CROWN is never looser than CROWN.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/engine/random.js';
import { lowerLayersModel } from '../../src/certify/model.js';
import { ALPHA_DEFAULTS } from '../../src/certify/alpha.js';
import { MarginBounds } from '../../src/certify/margins.js';
import { BoundPropagation } from '../../src/certify/propagation.js';
import { region, type CertifyNorm } from '../../src/certify/region.js';
import type { BoundMethod } from '../../src/certify/report.js';
import { branching, convolutional, denseRelu, marginAt, pointsOf } from './networks.js';

const METHODS: BoundMethod[] = ['ibp', 'crown', 'alpha-crown'];

function inputsFor(model: tf.LayersModel, count: number, seed: number): Float32Array[] {
  const shape = model.inputs[0]!.shape.slice(1) as number[];
  const rng = new Rng(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: count }, () => Float32Array.from({ length: n }, () => rng.uniform(0.2, 0.8)));
}

function predictFloat32(model: tf.LayersModel, x: Float32Array): Float32Array {
  const shape = model.inputs[0]!.shape.slice(1) as number[];
  return tf.tidy(() => {
    const t = tf.tensor(x, [1, ...shape]);
    const layers = model.layers;
    // Logits: the peeled softmax is undone with a log (up to a constant per row).
    const out = model.predict(t) as tf.Tensor;
    const last = layers[layers.length - 1]!.getConfig().activation === 'softmax';
    return (last ? tf.log(out) : out).dataSync() as Float32Array;
  });
}

function marginBounds(prop: BoundPropagation, x: Float32Array, label: number, epsilon: number, norm: CertifyNorm): Record<BoundMethod, number> {
  const r = region(x, epsilon, norm, [0, 1]);
  const out = {} as Record<BoundMethod, number>;
  for (const m of METHODS) out[m] = new MarginBounds(prop, r, label).refine(m);
  return out;
}

describe('bound propagation', () => {
  it.each([
    ['dense relu', () => denseRelu(1)],
    ['convolutional', () => convolutional(2)],
    ['branching', () => branching(3)],
  ])('evaluates the %s network in float64 as model.predict does', (_, build) => {
    const model = build();
    const prop = new BoundPropagation(lowerLayersModel(model));
    for (const x of inputsFor(model, 3, 9)) {
      const exact = prop.evaluate(x);
      const reference = predictFloat32(model, x);
      const shift = reference[0]! - exact[0]!;
      exact.forEach((v, j) => expect(v + shift).toBeCloseTo(reference[j]!, 4));
    }
    model.dispose();
  });

  it.each([
    ['one affine layer: every method', [5, 3], METHODS],
    ['two affine layers: CROWN and α-CROWN', [5, 7, 3], ['crown', 'alpha-crown']],
  ] as const)('equals the exact minimum over the box, attained at a corner, with %s', (_, widths, exactMethods) => {
    const model = denseRelu(4, [...widths], 'linear');
    const prop = new BoundPropagation(lowerLayersModel(model));
    const rng = new Rng(4);
    for (const x of inputsFor(model, 4, 5)) {
      const label = rng.int(3);
      const r = region(x, 0.15, 'linf', [0, 1]);
      const exact = Math.min(...pointsOf(r, rng, 0).map((p) => marginAt(prop.evaluate(p), label)));
      const bounds = marginBounds(prop, x, label, 0.15, 'linf');
      for (const m of exactMethods) expect(bounds[m]).toBeCloseTo(exact, 9);
      expect(bounds.ibp).toBeLessThanOrEqual(exact + 1e-9);
    }
    model.dispose();
  });

  it.each([
    ['dense relu', 'linf', () => denseRelu(5)],
    ['dense relu', 'l2', () => denseRelu(6)],
    ['dense sigmoid', 'linf', () => denseRelu(7, [4, 8, 8, 3], 'sigmoid')],
    ['dense tanh', 'linf', () => denseRelu(8, [4, 8, 8, 3], 'tanh')],
    ['convolutional', 'linf', () => convolutional(9)],
    ['convolutional', 'l2', () => convolutional(10)],
    ['branching', 'linf', () => branching(11)],
  ] as const)('no point of the region beats a bound: %s, %s', (_, norm, build) => {
    const model = build();
    const prop = new BoundPropagation(lowerLayersModel(model));
    const rng = new Rng(12);
    const classes = prop.outputSize;
    for (const x of inputsFor(model, 3, 13)) {
      const label = rng.int(classes);
      for (const epsilon of norm === 'linf' ? [0.02, 0.1] : [0.1, 0.5]) {
        const bounds = marginBounds(prop, x, label, epsilon, norm);
        const r = region(x, epsilon, norm, [0, 1]);
        let points = pointsOf(r, rng, 300);
        // L2: the box's points projected into the ball.
        if (norm === 'l2') {
          points = points.map((p) => {
            let d = 0;
            p.forEach((v, i) => (d += (v - x[i]!) ** 2));
            const s = Math.min(1, epsilon / Math.max(Math.sqrt(d), 1e-12));
            return p.map((v, i) => x[i]! + (v - x[i]!) * s);
          });
        }
        const lowest = Math.min(...points.map((p) => marginAt(prop.evaluate(p), label)));
        for (const m of METHODS) expect(bounds[m]).toBeLessThanOrEqual(lowest + 1e-9);
        expect(bounds['alpha-crown']).toBeGreaterThanOrEqual(bounds.crown);
      }
    }
    model.dispose();
  });

  it('CROWN is tighter than IBP on random ReLU networks, α-CROWN at least as tight as CROWN', () => {
    let crownWins = 0;
    let cases = 0;
    for (let seed = 20; seed < 30; seed++) {
      const model = denseRelu(seed, [8, 16, 16, 16, 5]);
      const prop = new BoundPropagation(lowerLayersModel(model));
      for (const x of inputsFor(model, 2, seed)) {
        const b = marginBounds(prop, x, seed % 5, 0.05, 'linf');
        cases++;
        if (b.crown >= b.ibp) crownWins++;
        expect(b['alpha-crown']).toBeGreaterThanOrEqual(b.crown);
      }
      model.dispose();
    }
    // CROWN is not tighter than IBP by theorem, but on random ReLU networks it almost always is.
    expect(crownWins / cases).toBeGreaterThanOrEqual(0.9);
  });

  it('α-CROWN on every layer (intermediate neurons too) is never looser than CROWN, and tighter than last-layer α on deep ReLU networks', () => {
    let tighter = 0;
    for (let seed = 40; seed < 46; seed++) {
      const model = denseRelu(seed, [8, 16, 16, 16, 5]);
      const prop = new BoundPropagation(lowerLayersModel(model));
      for (const x of inputsFor(model, 2, seed)) {
        const r = region(x, 0.05, 'linf', [0, 1]);
        const crown = new MarginBounds(prop, r, seed % 5).refine('crown');
        const last = new MarginBounds(prop, r, seed % 5, undefined, { ...ALPHA_DEFAULTS, intermediate: false }).refine('alpha-crown');
        const every = new MarginBounds(prop, r, seed % 5).refine('alpha-crown');
        expect(last).toBeGreaterThanOrEqual(crown);
        expect(every).toBeGreaterThanOrEqual(crown);
        if (every > last + 1e-6) tighter++;
      }
      model.dispose();
    }
    expect(tighter).toBeGreaterThanOrEqual(3);
  });

  it.each([
    ['dense relu', 'linf', () => denseRelu(61, [6, 12, 12, 4])],
    ['convolutional', 'linf', () => convolutional(62)],
    ['convolutional', 'l2', () => convolutional(63)],
    ['branching', 'l2', () => branching(64)],
  ] as const)('IBP of many samples at once equals IBP one sample at a time: %s, %s', (_, norm, build) => {
    const model = build();
    const prop = new BoundPropagation(lowerLayersModel(model));
    const xs = inputsFor(model, 7, 65);
    const regions = xs.map((x, i) => region(x, (i + 1) * (norm === 'linf' ? 0.01 : 0.05), norm, [0, 1]));
    const rows = regions.map((_, i) => new MarginBounds(prop, regions[i]!, i % prop.outputSize).rows);
    const batched = prop.intervalRowsBatch(regions, rows);
    regions.forEach((r, i) => {
      const single = prop.intervalRows(r, rows[i]!);
      single.forEach((b, k) => expect(batched[i]![k]).toBeCloseTo(b, 10));
    });
    model.dispose();
  });
});
