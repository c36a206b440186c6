/**
 * Seeded model graphs built node by node, with what the tfjs-layers importer never emits: explicit
 * and asymmetric pads, dilated depthwise convolutions with a multiplier, transpose, slice, pad,
 * constants with broadcasting, max/min, means, every activation bound propagation relaxes.
 */
import { Rng } from '../../src/engine/random.js';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Activation, ModelGraph, Op } from '../../src/graph/types.js';

type Build = (g: GraphBuilder, rng: Rng, softmax: boolean) => number;

function weights(g: GraphBuilder, rng: Rng, shape: number[], scale = 0.6, offset = 0) {
  const n = shape.reduce((a, b) => a * b, 1);
  return g.weight(Float32Array.from({ length: n }, () => offset + scale * rng.normal()), shape);
}

const act = (activation: Activation): Op => ({ kind: 'activation', activation });

/** An image network: explicit pads everywhere, depthwise with multiplier and dilation, transpose, slice, constants. */
export const image: Build = (g, rng, softmax) => {
  let x = g.add({ kind: 'pad', pads: [[1, 0], [0, 2], [0, 0]], value: 0.5 }, [g.input], 'pad');
  x = g.add({ kind: 'conv2d', filter: weights(g, rng, [3, 3, 2, 3]), bias: weights(g, rng, [3], 0.3), strides: [1, 2], dilations: [1, 1], padding: [1, 2, 0, 1] }, [x], 'conv explicit');
  x = g.add(act({ fn: 'clip', min: -0.5, max: 1 }), [x], 'clip');
  x = g.add({ kind: 'depthwiseConv2d', filter: weights(g, rng, [2, 2, 3, 2]), bias: weights(g, rng, [6], 0.3), strides: [1, 1], dilations: [2, 1], padding: 'same' }, [x], 'depthwise');
  x = g.add({ kind: 'batchNorm', mean: weights(g, rng, [6], 0.2), variance: weights(g, rng, [6], 0.2, 1), gamma: weights(g, rng, [6], 0.3, 1), beta: weights(g, rng, [6], 0.2), epsilon: 1e-3 }, [x], 'batchNorm');
  x = g.add(act({ fn: 'hardSwish' }), [x], 'hardSwish');
  x = g.add({ kind: 'maxPool', size: [2, 2], strides: [1, 1], padding: [0, 1, 1, 0] }, [x], 'maxPool explicit');
  x = g.add({ kind: 'avgPool', size: [2, 2], strides: [2, 2], padding: [1, 1, 1, 1], countPadding: true }, [x], 'avgPool counting pads');
  x = g.add({ kind: 'transpose', perm: [1, 0, 2] }, [x], 'transpose');
  x = g.add({ kind: 'slice', begin: [0, 1, 0], size: [-1, 2, -1] }, [x], 'slice');
  const scale = g.add({ kind: 'constant', value: weights(g, rng, [6], 0.5, 1) }, [], 'scale');
  x = g.add({ kind: 'binary', fn: 'mul' }, [x, scale], 'mul by constant');
  const shift = g.add({ kind: 'constant', value: weights(g, rng, [1, 1, 6], 0.3) }, [], 'shift');
  x = g.add({ kind: 'binary', fn: 'add' }, [shift, x], 'constant plus');
  x = g.add(act({ fn: 'leakyRelu', alpha: 0.2 }), [x], 'leakyRelu');
  x = g.add({ kind: 'avgPool', size: [2, 2], strides: [1, 1], padding: 'same', countPadding: false }, [x], 'avgPool same');
  x = g.add({ kind: 'reshape', shape: [g.shapeOf(x).reduce((a, b) => a * b, 1)] }, [x], 'flatten');
  x = g.add({ kind: 'dense', kernel: weights(g, rng, [g.shapeOf(x)[0]!, 5], 0.5), bias: weights(g, rng, [5], 0.3) }, [x], 'dense');
  x = g.add(act({ fn: 'tanh' }), [x], 'tanh');
  x = g.add({ kind: 'dense', kernel: weights(g, rng, [5, 3], 1.2), bias: weights(g, rng, [3], 0.3) }, [x], 'logits');
  return softmax ? g.add({ kind: 'softmax' }, [x], 'softmax') : x;
};

/** A vector network: dense over a rank-2 value, two-value arithmetic, concat with a constant, means, the convex activations. */
export const vector: Build = (g, rng) => {
  let x = g.add({ kind: 'reshape', shape: [2, 4] }, [g.input], 'reshape');
  x = g.add({ kind: 'dense', kernel: weights(g, rng, [4, 5]), bias: weights(g, rng, [5], 0.3) }, [x], 'dense rank 2');
  x = g.add({ kind: 'transpose', perm: [1, 0] }, [x], 'transpose');
  const a = g.add(act({ fn: 'relu' }), [x], 'relu');
  const b = g.add(act({ fn: 'sigmoid' }), [x], 'sigmoid');
  const top = g.add({ kind: 'binary', fn: 'max' }, [a, b], 'max of two');
  const half = g.add({ kind: 'constant', value: g.weight(Float32Array.of(0.5, -0.25), [2]) }, [], 'half');
  const low = g.add({ kind: 'binary', fn: 'min' }, [b, half], 'min with constant');
  const diff = g.add({ kind: 'binary', fn: 'sub' }, [top, low], 'sub of two');
  const e = g.add(act({ fn: 'elu', alpha: 0.7 }), [diff], 'elu');
  const s = g.add(act({ fn: 'softplus' }), [x], 'softplus');
  const h = g.add(act({ fn: 'hardSigmoid', alpha: 0.2, beta: 0.5 }), [x], 'hardSigmoid');
  const m = g.add(act({ fn: 'abs' }), [x], 'abs');
  const column = g.add({ kind: 'constant', value: weights(g, rng, [5, 1], 0.5) }, [], 'column');
  let y = g.add({ kind: 'concat', axis: 1 }, [e, s, column, h, m], 'concat');
  const three = g.add({ kind: 'constant', value: g.weight(Float32Array.of(3), [1]) }, [], 'three');
  y = g.add({ kind: 'binary', fn: 'div' }, [y, three], 'div by constant');
  y = g.add(act({ fn: 'exp' }), [y], 'exp');
  y = g.add(act({ fn: 'neg' }), [y], 'neg');
  y = g.add({ kind: 'mean', axes: [0], keepDims: true }, [y], 'mean');
  y = g.add({ kind: 'reshape', shape: [9] }, [y], 'flatten');
  const bias = g.add({ kind: 'constant', value: weights(g, rng, [9], 0.3) }, [], 'bias');
  const bias2 = g.add({ kind: 'binary', fn: 'mul' }, [bias, three], 'constant times constant');
  y = g.add({ kind: 'binary', fn: 'sub' }, [bias2, y], 'constant minus');
  return g.add({ kind: 'dense', kernel: weights(g, rng, [9, 4], 1.5), bias: weights(g, rng, [4], 0.3) }, [y], 'logits');
};

export const GRAPHS = { image: { inputShape: [6, 6, 2], build: image }, vector: { inputShape: [8], build: vector } };

/** `softmax`: end the image graph in a softmax, which the builder peels. */
export function buildGraph(name: keyof typeof GRAPHS, seed: number, softmax = true): ModelGraph {
  const { inputShape, build } = GRAPHS[name];
  const g = new GraphBuilder('onnx', inputShape);
  return g.build(build(g, new Rng(seed), softmax));
}
