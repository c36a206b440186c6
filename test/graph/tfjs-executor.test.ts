/**
 * The tfjs executor on hand-built model graphs, node kinds the tfjs-layers importer never emits
 * included (explicit and asymmetric pads, transpose, slice, constants with broadcasting, means,
 * every activation): logits equal an independent plain-tfjs reading of the graph
 * (test/support/graph-reference.ts), and input gradients equal tf.grad of that reading on the cpu
 * backend, within 1e-4 relative.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../src/engine/tfjs/compile.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Activation } from '../../src/graph/types.js';
import { referenceForward, relativeError } from '../support/graph-reference.js';

const TOLERANCE = 1e-4;

let seed = 1;
function random(shape: number[], scale = 0.5): Float32Array {
  return tf.tidy(() => tf.randomUniform(shape, -scale, scale, 'float32', seed++).dataSync() as Float32Array);
}

/** A smooth loss with a dense logit gradient. */
function lossOf(weights: Float32Array, classes: number) {
  return (z: tf.Tensor2D) => tf.tidy(() => tf.add(tf.logSumExp(z, 1), tf.sum(tf.mul(z, tf.tensor2d(weights, [z.shape[0], classes])), 1)) as tf.Tensor1D);
}

interface Case {
  name: string;
  inputShape: number[];
  build(g: GraphBuilder, x: number): number;
  /** Inputs strictly positive (sqrt, reciprocal). */
  positive?: boolean;
}

const w = (g: GraphBuilder, shape: number[], scale = 0.5) => g.weight(random(shape, scale), shape);

/** Ends a graph in a dense layer to 3 logits. */
function head(g: GraphBuilder, slot: number): number {
  const shape = g.shapeOf(slot);
  const size = shape.reduce((a, b) => a * b, 1);
  const flat = shape.length === 1 ? slot : g.add({ kind: 'reshape', shape: [size] }, [slot], 'flatten');
  return g.add({ kind: 'dense', kernel: w(g, [size, 3]), bias: w(g, [3]) }, [flat], 'logits');
}

const conv = (g: GraphBuilder, x: number, k: number, cin: number, cout: number, strides: [number, number], padding: [number, number, number, number]) =>
  g.add({ kind: 'conv2d', filter: w(g, [k, k, cin, cout]), bias: w(g, [cout]), strides, dilations: [1, 1], padding }, [x], 'conv');

const CASES: Case[] = [
  {
    name: 'conv2d with asymmetric explicit pads, stride 2, then relu',
    inputShape: [7, 6, 2],
    build: (g, x) => g.add({ kind: 'activation', activation: { fn: 'relu' } }, [conv(g, x, 3, 2, 4, [2, 2], [0, 2, 1, 0])], 'relu'),
  },
  {
    name: 'conv2d with explicit pads equal to same (PyTorch padding=1)',
    inputShape: [6, 6, 3],
    build: (g, x) => conv(g, x, 3, 3, 2, [1, 1], [1, 1, 1, 1]),
  },
  {
    name: 'depthwise conv, multiplier 2, stride 2, explicit pads',
    inputShape: [7, 7, 3],
    build: (g, x) => g.add({ kind: 'depthwiseConv2d', filter: w(g, [3, 3, 3, 2]), bias: w(g, [6]), strides: [2, 2], dilations: [1, 1], padding: [1, 1, 1, 1] }, [x], 'dw'),
  },
  {
    name: 'max pool with explicit pads (padded positions never win)',
    inputShape: [5, 5, 2],
    build: (g, x) => g.add({ kind: 'maxPool', size: [3, 3], strides: [2, 2], padding: [1, 1, 1, 1] }, [g.add({ kind: 'activation', activation: { fn: 'neg' } }, [x], 'neg')], 'pool'),
  },
  {
    name: 'average pool with explicit pads, padding counted and not counted',
    inputShape: [5, 6, 2],
    build: (g, x) => {
      const counted = g.add({ kind: 'avgPool', size: [3, 3], strides: [2, 2], padding: [1, 1, 1, 1], countPadding: true }, [x], 'avg');
      const excluded = g.add({ kind: 'avgPool', size: [3, 3], strides: [2, 2], padding: [1, 1, 1, 1], countPadding: false }, [x], 'avg');
      return g.add({ kind: 'concat', axis: 2 }, [counted, excluded], 'concat');
    },
  },
  {
    name: 'mean over axes with and without kept dimensions',
    inputShape: [4, 3, 5],
    build: (g, x) => {
      const kept = g.add({ kind: 'mean', axes: [0, 1], keepDims: true }, [x], 'mean');
      const dropped = g.add({ kind: 'mean', axes: [1], keepDims: false }, [x], 'mean');
      return g.add({ kind: 'binary', fn: 'mul' }, [g.add({ kind: 'reshape', shape: [5] }, [kept], 'r'), g.add({ kind: 'mean', axes: [0], keepDims: false }, [dropped], 'm')], 'mul');
    },
  },
  {
    name: 'arithmetic with constants (broadcast per channel) and between values',
    inputShape: [3, 3, 4],
    build: (g, x) => {
      const c = (shape: number[]) => g.add({ kind: 'constant', value: w(g, shape) }, [], 'const');
      const shifted = g.add({ kind: 'binary', fn: 'sub' }, [x, c([4])], 'sub');
      const scaled = g.add({ kind: 'binary', fn: 'mul' }, [shifted, c([1, 1, 4])], 'mul');
      const ratio = g.add({ kind: 'binary', fn: 'div' }, [scaled, g.add({ kind: 'binary', fn: 'add' }, [c([4]), g.add({ kind: 'constant', value: g.weight(new Float32Array(4).fill(2), [4]) }, [], 'two')], 'add')], 'div');
      const most = g.add({ kind: 'binary', fn: 'max' }, [ratio, x], 'max');
      const least = g.add({ kind: 'binary', fn: 'min' }, [most, g.add({ kind: 'binary', fn: 'mul' }, [x, x], 'square')], 'min');
      return g.add({ kind: 'binary', fn: 'add' }, [least, g.add({ kind: 'mean', axes: [2], keepDims: true }, [x], 'mean')], 'add');
    },
  },
  {
    name: 'average pool counting padded zeros, with pads equal to same',
    inputShape: [6, 6, 2],
    build: (g, x) => g.add({ kind: 'avgPool', size: [3, 3], strides: [1, 1], padding: [1, 1, 1, 1], countPadding: true }, [x], 'avg'),
  },
  {
    name: 'one value read by several nodes, the same gradient handed to both inputs of an add',
    inputShape: [5],
    build: (g, x) => {
      const s = g.add({ kind: 'activation', activation: { fn: 'sigmoid' } }, [x], 's');
      const a = g.add({ kind: 'binary', fn: 'add' }, [x, s], 'a');
      return g.add({ kind: 'binary', fn: 'max' }, [a, x], 'max');
    },
  },
  {
    name: 'concatenation with a constant',
    inputShape: [3, 4],
    build: (g, x) => g.add({ kind: 'concat', axis: 1 }, [x, g.add({ kind: 'constant', value: w(g, [3, 2]) }, [], 'c')], 'concat'),
  },
  {
    name: 'transpose, slice and pad',
    inputShape: [4, 5, 3],
    build: (g, x) => {
      const t = g.add({ kind: 'transpose', perm: [2, 0, 1] }, [x], 'transpose');
      const s = g.add({ kind: 'slice', begin: [1, 0, 2], size: [2, -1, 3] }, [t], 'slice');
      return g.add({ kind: 'pad', pads: [[0, 1], [2, 0], [1, 1]], value: 0.5 }, [s], 'pad');
    },
  },
  {
    name: 'batch norm then every elementwise activation',
    inputShape: [12],
    build: (g, x) => {
      const bn = g.add({ kind: 'batchNorm', mean: w(g, [12]), variance: g.weight(random([12], 0.4).map((v) => v + 0.5), [12]), gamma: w(g, [12]), beta: w(g, [12]), epsilon: 1e-3 }, [x], 'bn');
      const activations: Activation[] = [
        { fn: 'leakyRelu', alpha: 0.1 },
        { fn: 'clip', min: -0.2, max: 0.3 },
        { fn: 'sigmoid' },
        { fn: 'tanh' },
        { fn: 'elu', alpha: 0.7 },
        { fn: 'hardSigmoid', alpha: 0.2, beta: 0.5 },
        { fn: 'hardSwish' },
        { fn: 'swish' },
        { fn: 'gelu', approximate: false },
        { fn: 'gelu', approximate: true },
        { fn: 'softplus' },
        { fn: 'abs' },
      ];
      return g.add({ kind: 'concat', axis: 0 }, activations.map((activation) => g.add({ kind: 'activation', activation }, [bn], activation.fn)), 'concat');
    },
  },
  {
    name: 'exp, sqrt and reciprocal on positive values',
    inputShape: [6],
    positive: true,
    build: (g, x) => {
      const parts = (['exp', 'sqrt', 'reciprocal'] as const).map((fn) => g.add({ kind: 'activation', activation: { fn } }, [x], fn));
      return g.add({ kind: 'concat', axis: 0 }, parts, 'concat');
    },
  },
];

describe('the tfjs executor on model graphs', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const g = new GraphBuilder('onnx', c.inputShape);
      const graph = g.build(head(g, c.build(g, g.input)));
      const n = 3;
      const xValues = random([n, ...c.inputShape], 1).map((v) => (c.positive ? Math.abs(v) + 0.2 : v));
      const lossWeights = random([n, 3], 1);
      const loss = lossOf(lossWeights, 3);

      await tf.setBackend('cpu');
      const x = tf.tensor(xValues, [n, ...c.inputShape]);
      const expectedLogits = tf.tidy(() => referenceForward(graph, x).dataSync() as Float32Array);
      const expectedGradient = tf.tidy(() => tf.grad((input: tf.Tensor) => tf.sum(loss(referenceForward(graph, input) as tf.Tensor2D)))(x).dataSync() as Float32Array);
      x.dispose();

      for (const backend of ['cpu', 'wasm']) {
        await tf.setBackend(backend);
        const network = compileGraph(graph);
        const input = tf.tensor(xValues, [n, ...c.inputShape]);
        tf.dispose(Object.values(network.valueAndGradient(input, loss)));
        const before = tf.memory().numTensors;
        const result = network.valueAndGradient(input, loss);
        const forward = network.forward(input);
        expect(relativeError(forward.dataSync(), expectedLogits), `${backend} logits`).toBeLessThan(1e-5);
        expect(relativeError(result.logits.dataSync(), expectedLogits), `${backend} logits with the gradient`).toBeLessThan(1e-5);
        expect(relativeError(result.gradient.dataSync(), expectedGradient), `${backend} gradient`).toBeLessThan(TOLERANCE);
        expect(result.gradient.shape).toEqual([n, ...c.inputShape]);
        tf.dispose([result.logits, result.loss, result.gradient, forward]);
        expect(tf.memory().numTensors).toBe(before);
        input.dispose();
      }
      graph.dispose();
    });
  }
});
