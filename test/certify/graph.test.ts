/**
 * Certificates on hand-built model graphs (explicit pads, transpose, slice, constants, every
 * relaxed activation): the float64 forward of the lowered graph equals the tfjs executor's; no
 * corner or random point of the region beats an IBP, CROWN or α-CROWN bound; each activation's
 * relaxation holds at every sampled point of its interval; unsupported nodes are named; the tfjs
 * IBP equals the float64 IBP; certify() reads a classifier's graph.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { certify, classifier, pgd } from '../../src/index.js';
import { evaluate } from '../../src/evaluate.js';
import { compileGraph } from '../../src/engine/tfjs/compile.js';
import { Rng } from '../../src/engine/random.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { ModelGraph } from '../../src/graph/types.js';
import { ibpMargins } from '../../src/certify/ibp-tensors.js';
import { MarginBounds } from '../../src/certify/margins.js';
import { lowerModelGraph } from '../../src/certify/model.js';
import { ClippedReluBound, ConvexBound, HardSwishBound, LeakyReluBound, SShapedBound } from '../../src/certify/ops/activation.js';
import type { ActivationBoundOp } from '../../src/certify/ops/bound-op.js';
import { BoundPropagation } from '../../src/certify/propagation.js';
import { region, type CertifyNorm } from '../../src/certify/region.js';
import type { BoundMethod } from '../../src/certify/report.js';
import { buildGraph, GRAPHS } from './graphs.js';
import { marginAt, pointsOf } from './networks.js';

const METHODS: BoundMethod[] = ['ibp', 'crown', 'alpha-crown'];
type Name = keyof typeof GRAPHS;

function inputs(name: Name, count: number, seed: number): Float32Array[] {
  const n = GRAPHS[name].inputShape.reduce((a, b) => a * b, 1);
  const rng = new Rng(seed);
  return Array.from({ length: count }, () => Float32Array.from({ length: n }, () => rng.uniform(0.2, 0.8)));
}

describe('certificates on the model graph', () => {
  it('the lowered image graph computes what the tfjs executor computes', () => {
    const graph = buildGraph('image', 1);
    const prop = new BoundPropagation(lowerModelGraph(graph));
    const network = compileGraph(graph);
    const xs = inputs('image', 4, 2);
    const reference = tf.tidy(() => network.forward(tf.tensor(xs.flatMap((x) => [...x]), [xs.length, ...GRAPHS.image.inputShape])).arraySync());
    xs.forEach((x, i) => {
      const exact = prop.evaluate(x);
      const scale = Math.max(...reference[i]!.map(Math.abs));
      exact.forEach((v, j) => expect(Math.abs(v - reference[i]![j]!) / scale).toBeLessThan(1e-4));
    });
    network.dispose();
  });

  it.each(['image', 'vector'] as const)('the lowered %s graph gives the margins plain tfjs operations give (IBP at ε = 0)', (name) => {
    const graph = buildGraph(name, 1);
    const prop = new BoundPropagation(lowerModelGraph(graph));
    const xs = inputs(name, 4, 2);
    const labels = xs.map((_, i) => i % prop.outputSize);
    const margins = tf.tidy(() => ibpMargins(graph, tf.tensor(xs.flatMap((x) => [...x]), [xs.length, ...GRAPHS[name].inputShape]), tf.tensor1d(labels, 'int32'), 0).arraySync());
    xs.forEach((x, i) => {
      const z = prop.evaluate(x);
      margins[i]!.forEach((m, j) => expect(Math.abs(m - (z[labels[i]!]! - z[j]!))).toBeLessThan(1e-4 * (1 + Math.abs(m))));
    });
  });

  it.each([
    ['image', 'linf'],
    ['image', 'l2'],
    ['vector', 'linf'],
    ['vector', 'l2'],
  ] as const)('no point of the region beats a bound: %s graph, %s', (name, norm) => {
    const graph = buildGraph(name, 3);
    const prop = new BoundPropagation(lowerModelGraph(graph));
    const rng = new Rng(4);
    for (const x of inputs(name, 3, 5)) {
      const label = rng.int(prop.outputSize);
      for (const epsilon of norm === 'linf' ? [0.01, 0.05] : [0.05, 0.3]) {
        const r = region(x, epsilon, norm, [0, 1]);
        const bounds = {} as Record<BoundMethod, number>;
        for (const m of METHODS) bounds[m] = new MarginBounds(prop, r, label).refine(m);
        let points = pointsOf(r, rng, 300);
        if (norm === 'l2') {
          points = points.map((p) => {
            let d = 0;
            p.forEach((v, i) => (d += (v - x[i]!) ** 2));
            const s = Math.min(1, epsilon / Math.max(Math.sqrt(d), 1e-12));
            return p.map((v, i) => x[i]! + (v - x[i]!) * s);
          });
        }
        const lowest = Math.min(...points.map((p) => marginAt(prop.evaluate(p), label)));
        for (const m of METHODS) expect(bounds[m], m).toBeLessThanOrEqual(lowest + 1e-9);
        expect(bounds['alpha-crown']).toBeGreaterThanOrEqual(bounds.crown);
        expect(Number.isFinite(bounds.crown)).toBe(true);
      }
    }
  });

  it('every activation relaxation holds at every sampled point of its interval, and its interval image contains them', () => {
    const ops: ActivationBoundOp[] = [
      new LeakyReluBound('relu', [1], 0),
      new LeakyReluBound('leaky', [1], 0.2),
      new LeakyReluBound('concave', [1], 1.5),
      new ClippedReluBound('relu6', 'relu6', [1], 6),
      new SShapedBound('sigmoid', 'sigmoid', [1]),
      new SShapedBound('tanh', 'tanh', [1]),
      new ConvexBound('elu', 'elu', [1], 0.5),
      new ConvexBound('softplus', 'softplus', [1]),
      new ConvexBound('exp', 'exp', [1]),
      new ConvexBound('abs', 'abs', [1]),
      new HardSwishBound('hardSwish', [1]),
    ];
    const rng = new Rng(6);
    const out = new Float64Array(1);
    for (const op of ops) {
      for (let k = 0; k < 300; k++) {
        const a = rng.uniform(-8, 8);
        const b = k % 10 === 0 ? a : a + rng.uniform(0, 6) * (k % 3 === 0 ? 0.01 : 1);
        const box = { lower: Float64Array.of(a), upper: Float64Array.of(b) };
        const r = op.relax(box);
        const image = op.interval(box);
        // The largest violation of each claim over the sampled points (≤ 1e-12 when sound).
        let worst = -Infinity;
        for (let t = 0; t <= 200; t++) {
          const x = a + ((b - a) * t) / 200;
          op.evaluate(Float64Array.of(x), out);
          const y = out[0]!;
          const free = r.free.length > 0 ? [r.minSlope, r.maxSlope, (r.minSlope + r.maxSlope) / 2].map((s) => s * x + r.lowerIntercept[0]! - y) : [];
          // With a free slope (α-CROWN), every lower line through the origin in range stays below too.
          worst = Math.max(worst, r.lowerSlope[0]! * x + r.lowerIntercept[0]! - y, y - r.upperSlope[0]! * x - r.upperIntercept[0]!, image.lower[0]! - y, y - image.upper[0]!, ...free);
        }
        expect(worst, `${op.kind} on [${a}, ${b}]`).toBeLessThanOrEqual(1e-12);
      }
    }
  });

  it('lowers hardSigmoid and shifted clips onto a clipped relu, max onto a relu, and folds constants', () => {
    const g = new GraphBuilder('onnx', [3]);
    let x = g.add({ kind: 'activation', activation: { fn: 'hardSigmoid', alpha: 0.2, beta: 0.5 } }, [g.input], 'hs');
    x = g.add({ kind: 'activation', activation: { fn: 'clip', min: -1, max: 2 } }, [x], 'clip');
    const c = g.add({ kind: 'constant', value: g.weight(Float32Array.of(1, 2, 3), [3]) }, [], 'c');
    const cc = g.add({ kind: 'binary', fn: 'mul' }, [c, c], 'c squared');
    x = g.add({ kind: 'binary', fn: 'max' }, [x, cc], 'max');
    x = g.add({ kind: 'dense', kernel: g.weight(Float32Array.from({ length: 6 }, (_, i) => i - 2), [3, 2]), bias: null }, [x], 'logits');
    const bound = lowerModelGraph(g.build(x));
    expect(bound.nodes.map((n) => n.op.kind)).toEqual(['scale', 'clip(0, 1)', 'scale', 'clip(0, 3)', 'shift', 'sub', 'relu', 'max', 'dense']);
    // max(y, c²): the constant c² = [1, 4, 9] is folded into the sub and the final shift.
    const prop = new BoundPropagation(bound);
    const y = prop.evaluate([0.3, 0.1, 0.9]);
    expect(y[0]).toBeCloseTo(-2 * 1 + 0 * 4 + 2 * 9, 9);
  });

  it('names the node it cannot bound with UNSUPPORTED_LAYER', () => {
    const cases: [string, (g: GraphBuilder) => number][] = [
      ['product', (g) => g.add({ kind: 'binary', fn: 'mul' }, [g.input, g.input], 'product')],
      ['swishy', (g) => g.add({ kind: 'activation', activation: { fn: 'swish' } }, [g.input], 'swishy')],
      ['steep elu', (g) => g.add({ kind: 'activation', activation: { fn: 'elu', alpha: 2 } }, [g.input], 'steep elu')],
      ['custom', (g) => g.add({ kind: 'opaque', name: 'Custom', apply: (xs) => xs[0]! }, [g.input], 'custom', [3])],
      ['early softmax', (g) => g.add({ kind: 'dense', kernel: g.weight(new Float32Array(9), [3, 3]), bias: null }, [g.add({ kind: 'softmax' }, [g.input], 'early softmax')], 'd')],
    ];
    for (const [source, build] of cases) {
      const g = new GraphBuilder('onnx', [3]);
      const graph = g.build(build(g));
      expect(() => lowerModelGraph(graph)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_LAYER', message: expect.stringContaining(source) }));
    }
  });

  // The vector graph's max and min: the tfjs IBP bounds them directly, the float64 IBP through
  // b + relu(a − b), which is looser; both are sound (the previous tests sample the region).
  it.each([
    ['image', true],
    ['vector', false],
  ] as const)('the tfjs IBP of the %s graph equals (or, with max and min, is at least) the float64 IBP, leaving no tensor behind', (name, equal) => {
    const graph = buildGraph(name, 7);
    const prop = new BoundPropagation(lowerModelGraph(graph));
    const xs = inputs(name, 3, 8);
    const labels = xs.map((_, i) => i % prop.outputSize);
    ibpMargins(graph, tf.zeros([1, ...GRAPHS[name].inputShape]), tf.tensor1d([0], 'int32'), 0.01).dispose();
    const before = tf.memory().numTensors;
    const margins = tf.tidy(() => ibpMargins(graph, tf.tensor(xs.flatMap((x) => [...x]), [xs.length, ...GRAPHS[name].inputShape]), tf.tensor1d(labels, 'int32'), 0.02).arraySync());
    expect(tf.memory().numTensors).toBe(before);
    xs.forEach((x, i) => {
      const bounds = new MarginBounds(prop, region(x, 0.02, 'linf', [0, 1]), labels[i]!);
      bounds.refine('ibp');
      const others = margins[i]!.filter((_, j) => j !== labels[i]);
      const tolerance = (k: number) => 1e-4 * (1 + Math.abs(bounds.bounds[k]!));
      others.forEach((m, k) => (equal ? expect(Math.abs(m - bounds.bounds[k]!)).toBeLessThan(tolerance(k)) : expect(m).toBeGreaterThan(bounds.bounds[k]! - tolerance(k))));
    });
  });

  it('certify() reads a classifier through its graph; a certified sample is never broken by PGD', async () => {
    const graph: ModelGraph = buildGraph('image', 9, false);
    const network = compileGraph(graph);
    const base = classifier((x: tf.Tensor) => network.forward(x), { outputs: 'logits' });
    const clf = Object.assign(Object.create(base) as typeof base, { graph: () => graph });
    const xs = inputs('image', 10, 10);
    const shape = GRAPHS.image.inputShape;
    const x = tf.tensor(xs.flatMap((v) => [...v]), [xs.length, ...shape]);
    const labels = tf.tidy(() => Array.from(tf.argMax(network.forward(x), 1).dataSync()));
    const epsilons = [0.002, 0.01, 0.05];
    // The classifier compiles its network on first use and keeps it: measured from the second call.
    await certify(clf, { inputs: x, labels }, { epsilons: [0.01], method: 'ibp' });
    const before = tf.memory().numTensors;
    const report = await certify(clf, { inputs: x, labels }, { epsilons, method: 'auto' });
    expect(tf.memory().numTensors).toBe(before);
    expect(report.certifiedAccuracy[0]).toBeGreaterThan(0);
    const attacked = await evaluate(clf, { inputs: x, labels }, { attack: pgd({ steps: 30, randomStart: true }), epsilons, seed: 3 });
    report.samples.forEach((s, i) =>
      s.certified.forEach((c, e) => {
        const broke = attacked.samples[i]!.breakingEpsilon;
        if (c) expect(broke === null || broke > epsilons[e]!).toBe(true);
      }),
    );
    await expect(certify(classifier((t: tf.Tensor) => network.forward(t)), { inputs: x, labels }, { epsilons })).rejects.toMatchObject({ code: 'INVALID_MODEL' });
    x.dispose();
    network.dispose();
  });
});
