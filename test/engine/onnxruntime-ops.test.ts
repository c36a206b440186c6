/**
 * The onnxruntime executor on model graphs built node by node: for every op kind, activation and
 * attack loss, its logits equal an independent tfjs interpretation of the graph within 1e-5
 * relative and its input gradient equals tf.grad through that interpretation (cpu backend)
 * within 1e-4 relative, with both ways of writing strided convolutions' gradients.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../../src/graph/builder.js';
import type { Activation, ModelGraph, Padding, Weight } from '../../src/graph/types.js';
import { Rng } from '../../src/engine/random.js';
import { onnxruntimeNetwork, tryOnnxruntimeNetwork, type OrtNetwork, type StridedGradient } from '../../src/engine/onnxruntime/index.js';
import { attackLoss, criterionMargin } from '../../src/attacks/losses.js';
import type { LossFn } from '../../src/engine/tfjs/types.js';
import { referenceGradient, relativeError } from '../support/graph-reference.js';

const rng = new Rng(18);

function weight(b: GraphBuilder, shape: number[], scale = 0.5): Weight {
  const n = shape.reduce((p, q) => p * q, 1);
  return b.weight(rng.fillUniform(new Float32Array(n), -scale, scale), shape);
}

function positive(b: GraphBuilder, shape: number[]): Weight {
  const n = shape.reduce((p, q) => p * q, 1);
  return b.weight(rng.fillUniform(new Float32Array(n), 0.5, 1.5), shape);
}

function conv(b: GraphBuilder, x: number, kernel: number, out: number, strides: number, padding: Padding, dilation = 1, bias = true): number {
  const c = b.shapeOf(x)[2]!;
  return b.add({ kind: 'conv2d', filter: weight(b, [kernel, kernel, c, out]), bias: bias ? weight(b, [out]) : null, strides: [strides, strides], dilations: [dilation, dilation], padding }, [x], 'conv');
}

function depthwise(b: GraphBuilder, x: number, kernel: number, multiplier: number, strides: number, padding: Padding, dilation = 1): number {
  const c = b.shapeOf(x)[2]!;
  return b.add({ kind: 'depthwiseConv2d', filter: weight(b, [kernel, kernel, c, multiplier]), bias: weight(b, [c * multiplier]), strides: [strides, strides], dilations: [dilation, dilation], padding }, [x], 'depthwise');
}

function act(b: GraphBuilder, x: number, activation: Activation): number {
  return b.add({ kind: 'activation', activation }, [x], activation.fn);
}

function head(b: GraphBuilder, x: number, classes = 5): ModelGraph {
  let flat = x;
  const shape = b.shapeOf(x);
  if (shape.length > 1) flat = b.add({ kind: 'reshape', shape: [shape.reduce((p, q) => p * q, 1)] }, [x], 'flatten');
  const features = b.shapeOf(flat)[0]!;
  return b.build(b.add({ kind: 'dense', kernel: weight(b, [features, classes], 1 / Math.sqrt(features)), bias: weight(b, [classes]) }, [flat], 'logits'));
}

const GRAPHS: Record<string, () => ModelGraph> = {
  'conv valid, relu, flatten, dense': () => {
    const b = new GraphBuilder('tfjs-layers', [7, 7, 3]);
    return head(b, act(b, conv(b, b.input, 3, 4, 1, 'valid'), { fn: 'relu' }));
  },
  'conv same stride 2, batch norm, relu6, global mean': () => {
    const b = new GraphBuilder('tfjs-layers', [9, 9, 3]);
    const y = conv(b, b.input, 3, 6, 2, 'same');
    const bn = b.add({ kind: 'batchNorm', mean: weight(b, [6]), variance: positive(b, [6]), gamma: positive(b, [6]), beta: weight(b, [6]), epsilon: 1e-3 }, [y], 'bn');
    return head(b, b.add({ kind: 'mean', axes: [0, 1], keepDims: false }, [act(b, bn, { fn: 'clip', min: 0, max: 6 })], 'gap'));
  },
  'conv stride 2 valid, even input; conv stride 3 dilation 1 same; explicit pads': () => {
    const b = new GraphBuilder('onnx', [10, 10, 2]);
    const a = conv(b, b.input, 3, 4, 2, 'valid');
    const c = conv(b, a, 2, 3, 3, 'same');
    return head(b, act(b, conv(b, c, 3, 3, 1, [2, 0, 1, 2]), { fn: 'tanh' }));
  },
  'dilated conv, 1×1 conv, single input channel': () => {
    const b = new GraphBuilder('tfjs-layers', [9, 8, 1]);
    const a = conv(b, b.input, 3, 4, 1, 'same', 2);
    return head(b, act(b, conv(b, a, 1, 3, 1, 'valid', 1, false), { fn: 'sigmoid' }));
  },
  'depthwise multiplier 2 stride 2 same, elu, depthwise dilated valid': () => {
    const b = new GraphBuilder('tfjs-layers', [9, 9, 3]);
    const a = act(b, depthwise(b, b.input, 3, 2, 2, 'same'), { fn: 'elu', alpha: 0.7 });
    return head(b, depthwise(b, a, 2, 1, 1, 'valid', 2));
  },
  'depthwise stride 2 valid and explicit pads (MobileNetV2-style)': () => {
    const b = new GraphBuilder('onnx', [8, 8, 4]);
    const a = act(b, depthwise(b, b.input, 3, 1, 2, [1, 1, 1, 1]), { fn: 'clip', min: 0, max: 6 });
    return head(b, depthwise(b, a, 3, 1, 2, 'valid'));
  },
  'max pools: 2×2, 3×3 stride 2 same, explicit pads': () => {
    const b = new GraphBuilder('tfjs-layers', [9, 9, 2]);
    const a = b.add({ kind: 'maxPool', size: [2, 2], strides: [1, 1], padding: 'valid' }, [conv(b, b.input, 3, 3, 1, 'same')], 'pool');
    const c = b.add({ kind: 'maxPool', size: [3, 3], strides: [2, 2], padding: 'same' }, [a], 'pool');
    return head(b, b.add({ kind: 'maxPool', size: [2, 2], strides: [2, 2], padding: [1, 0, 0, 1] }, [c], 'pool'));
  },
  'max pools whose windows tile the input, with ties, and rows no window reads': () => {
    // Channels [x, x] read as twice the width put two copies of each pixel side by side: every
    // 2×2 window holds its maximum twice, and only the first copy may take the gradient.
    const b = new GraphBuilder('tfjs-layers', [9, 9, 2]);
    const doubled = b.add({ kind: 'reshape', shape: [9, 18, 2] }, [b.add({ kind: 'concat', axis: 2 }, [b.input, b.input], 'concat')], 'reshape');
    const a = b.add({ kind: 'maxPool', size: [2, 2], strides: [2, 2], padding: 'valid' }, [doubled], 'pool');
    return head(b, b.add({ kind: 'maxPool', size: [3, 3], strides: [3, 3], padding: 'valid' }, [conv(b, a, 1, 3, 1, 'valid')], 'pool'));
  },
  'average pools: valid, same (padding not counted), explicit (counted and not)': () => {
    const b = new GraphBuilder('tfjs-layers', [9, 9, 2]);
    const a = b.add({ kind: 'avgPool', size: [2, 2], strides: [2, 2], padding: 'valid', countPadding: false }, [b.input], 'pool');
    const c = b.add({ kind: 'avgPool', size: [3, 3], strides: [1, 1], padding: 'same', countPadding: false }, [a], 'pool');
    const d = b.add({ kind: 'avgPool', size: [3, 3], strides: [2, 2], padding: [1, 1, 1, 1], countPadding: true }, [c], 'pool');
    return head(b, b.add({ kind: 'avgPool', size: [2, 2], strides: [1, 1], padding: [1, 0, 1, 0], countPadding: false }, [d], 'pool'));
  },
  'residual add, concat, pad, slice, transpose, mul by a constant': () => {
    const b = new GraphBuilder('tfjs-layers', [6, 6, 3]);
    const a = conv(b, b.input, 3, 3, 1, 'same');
    const sum = b.add({ kind: 'binary', fn: 'add' }, [a, b.input], 'add');
    const cat = b.add({ kind: 'concat', axis: 2 }, [sum, act(b, a, { fn: 'relu' })], 'concat');
    const padded = b.add({ kind: 'pad', pads: [[1, 0], [0, 2], [0, 0]], value: 0.25 }, [cat], 'pad');
    const sliced = b.add({ kind: 'slice', begin: [1, 0, 1], size: [5, -1, 4] }, [padded], 'slice');
    const turned = b.add({ kind: 'transpose', perm: [1, 0, 2] }, [sliced], 'transpose');
    const scaled = b.add({ kind: 'binary', fn: 'mul' }, [turned, b.add({ kind: 'constant', value: weight(b, [4]) }, [], 'scale')], 'mul');
    return head(b, scaled);
  },
  'sub, div, max, min; broadcasting a per-channel image against an image': () => {
    const b = new GraphBuilder('onnx', [5, 5, 3]);
    const a = conv(b, b.input, 3, 3, 1, 'same');
    const gate = b.add({ kind: 'mean', axes: [0, 1], keepDims: true }, [a], 'se');
    const d = b.add({ kind: 'binary', fn: 'sub' }, [a, gate], 'sub');
    const q = b.add({ kind: 'binary', fn: 'div' }, [d, b.add({ kind: 'constant', value: positive(b, [5, 5, 3]) }, [], 'c')], 'div');
    const m = b.add({ kind: 'binary', fn: 'max' }, [q, b.input], 'max');
    const n = b.add({ kind: 'binary', fn: 'min' }, [m, act(b, b.input, { fn: 'abs' })], 'min');
    return head(b, n);
  },
  'mean over one image axis (graph-order reduction), softmax over channels, dense on an image': () => {
    const b = new GraphBuilder('tfjs-layers', [6, 5, 3]);
    const a = conv(b, b.input, 3, 4, 1, 'same');
    const s = b.add({ kind: 'softmax' }, [a], 'softmax');
    const dense = b.add({ kind: 'dense', kernel: weight(b, [4, 3]), bias: weight(b, [3]) }, [s], 'dense');
    const m = b.add({ kind: 'mean', axes: [0], keepDims: false }, [dense], 'mean');
    return head(b, m);
  },
  'rank-2 values: dense on [T, D], transpose, reshape into an image and back': () => {
    const b = new GraphBuilder('onnx', [12]);
    const seq = b.add({ kind: 'reshape', shape: [4, 3] }, [b.input], 'reshape');
    const d = act(b, b.add({ kind: 'dense', kernel: weight(b, [3, 6]), bias: null }, [seq], 'dense'), { fn: 'gelu', approximate: false });
    const t = b.add({ kind: 'transpose', perm: [1, 0] }, [d], 'transpose');
    const image = b.add({ kind: 'reshape', shape: [2, 3, 4] }, [t], 'reshape');
    return head(b, conv(b, image, 2, 2, 1, 'same'));
  },
};

const ACTIVATIONS: Activation[] = [
  { fn: 'relu' },
  { fn: 'leakyRelu', alpha: 0.2 },
  { fn: 'clip', min: -0.5, max: 0.7 },
  { fn: 'sigmoid' },
  { fn: 'tanh' },
  { fn: 'elu', alpha: 1 },
  { fn: 'hardSigmoid', alpha: 0.2, beta: 0.5 },
  { fn: 'hardSwish' },
  { fn: 'swish' },
  { fn: 'gelu', approximate: false },
  { fn: 'gelu', approximate: true },
  { fn: 'softplus' },
  { fn: 'exp' },
  { fn: 'abs' },
  { fn: 'neg' },
  { fn: 'sqrt' },
  { fn: 'reciprocal' },
];

function activationGraph(a: Activation): ModelGraph {
  const b = new GraphBuilder('onnx', [10]);
  let x = b.add({ kind: 'dense', kernel: weight(b, [10, 16], 1.5), bias: weight(b, [16]) }, [b.input], 'dense');
  // sqrt and reciprocal need positive inputs away from zero.
  if (a.fn === 'sqrt' || a.fn === 'reciprocal') x = act(b, act(b, x, { fn: 'softplus' }), { fn: 'exp' });
  return head(b, act(b, x, a));
}

function batch(graph: ModelGraph, n: number, seed: number): tf.Tensor {
  const shape = graph.shapes[graph.input]!;
  const size = n * shape.reduce((p, q) => p * q, 1);
  return tf.tensor(new Rng(seed).fillUniform(new Float32Array(size), -1, 1), [n, ...shape]);
}

const N = 6;
const labels = Int32Array.from({ length: N }, (_, i) => i % 5);
const targets = Int32Array.from({ length: N }, (_, i) => (i + 2) % 5);

/** Cross-entropy plus a fixed linear term: a loss only tfjs knows, with a dense logit gradient. */
function customLoss(): LossFn {
  const weights = new Rng(5).fillNormal(new Float32Array(N * 5));
  return (logits) =>
    tf.tidy(() => {
      const own = tf.oneHot(tf.tensor1d(labels, 'int32'), 5);
      const ce = tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, own), 1));
      return tf.add(ce, tf.sum(tf.mul(logits, tf.tensor2d(weights, [N, 5])), 1)) as tf.Tensor1D;
    });
}

const LOSSES: Record<string, () => LossFn> = {
  'cross-entropy': () => attackLoss('ce', labels, null),
  'targeted cross-entropy': () => attackLoss('ce', labels, targets),
  margin: () => attackLoss('margin', labels, null),
  'top-2 margin': () => attackLoss('margin', labels, null, { k: 2 }),
  'capped margin (C&W κ)': () => attackLoss('margin', labels, null, { cap: 0.05 }),
  'targeted margin': () => attackLoss('margin', labels, targets),
  'criterion margin': () => criterionMargin(labels, null),
  DLR: () => attackLoss('dlr', labels, null),
  'targeted DLR': () => attackLoss('dlr', labels, targets),
  'a custom loss (two runs)': customLoss,
};

async function check(graph: ModelGraph, loss: LossFn, strided: StridedGradient = 'zero-insertion', seed = 1): Promise<void> {
  const network = (await onnxruntimeNetwork(graph, { threads: 1, stridedGradient: strided }))!;
  expect(network).not.toBeNull();
  const x = batch(graph, N, seed);
  try {
    const reference = referenceGradient(graph, x, loss);
    const logits = await network.forward(x);
    expect(relativeError(logits.dataSync(), reference.logits)).toBeLessThan(1e-5);
    const result = await network.valueAndGradient(x, loss);
    expect(result.gradient.shape).toEqual(x.shape);
    expect(relativeError(result.logits.dataSync(), reference.logits)).toBeLessThan(1e-5);
    expect(relativeError(result.loss.dataSync(), reference.loss)).toBeLessThan(1e-5);
    expect(relativeError(result.gradient.dataSync(), reference.gradient)).toBeLessThan(1e-4);
    tf.dispose([logits, result.logits, result.loss, result.gradient]);
  } finally {
    x.dispose();
    network.dispose();
  }
}

let backend: string;
beforeAll(async () => {
  backend = tf.getBackend();
  await tf.setBackend('cpu');
});
afterAll(async () => {
  if (backend) await tf.setBackend(backend);
});

describe('onnxruntime executor: every op against tf.grad through an independent interpretation', () => {
  for (const [name, build] of Object.entries(GRAPHS)) {
    it(name, async () => {
      const graph = build();
      await check(graph, attackLoss('ce', labels, null), 'zero-insertion');
      await check(graph, attackLoss('ce', labels, null), 'conv-transpose', 2);
      await check(graph, customLoss(), 'zero-insertion', 3);
      graph.dispose();
    });
  }
});

describe('onnxruntime executor: activations', () => {
  for (const a of ACTIVATIONS) {
    it(JSON.stringify(a), async () => {
      const graph = activationGraph(a);
      await check(graph, attackLoss('ce', labels, null));
      graph.dispose();
    });
  }
});

describe('onnxruntime executor: attack losses written in ONNX', () => {
  const graph = GRAPHS['conv same stride 2, batch norm, relu6, global mean']!();
  afterAll(() => graph.dispose());
  for (const [name, loss] of Object.entries(LOSSES)) {
    it(name, async () => {
      await check(graph, loss(), 'zero-insertion', 7);
    });
  }
});

/** Σ loss along ±h·v by the executor's own forward pass (double-precision sums on the host). */
async function directional(network: OrtNetwork, x: tf.Tensor, v: tf.Tensor, h: number, loss: LossFn): Promise<number> {
  const at = async (sign: number) => {
    const shifted = tf.add(x, tf.mul(v, sign * h));
    const logits = await network.forward(shifted);
    const perSample = loss(logits);
    const values = Array.from(perSample.dataSync());
    perSample.dispose();
    tf.dispose([shifted, logits]);
    return values.reduce((p, q) => p + q, 0);
  };
  return ((await at(1)) - (await at(-1))) / (2 * h);
}

describe('onnxruntime executor: central finite differences (no tfjs gradient involved)', () => {
  const cases: Record<string, () => ModelGraph> = {
    "average pool 'same'": () => {
      const b = new GraphBuilder('tfjs-layers', [9, 9, 2]);
      return head(b, act(b, b.add({ kind: 'avgPool', size: [3, 3], strides: [2, 2], padding: 'same', countPadding: false }, [b.input], 'pool'), { fn: 'tanh' }));
    },
    'dilated convolution and dilated depthwise convolution': () => {
      const b = new GraphBuilder('tfjs-layers', [9, 9, 2]);
      const a = act(b, conv(b, b.input, 3, 3, 2, 'same', 2), { fn: 'tanh' });
      return head(b, act(b, depthwise(b, a, 2, 2, 1, 'same', 2), { fn: 'tanh' }));
    },
  };
  for (const [name, build] of Object.entries(cases)) {
    it(name, async () => {
      const graph = build();
      const network = (await onnxruntimeNetwork(graph, { threads: 1 })) as OrtNetwork;
      const x = batch(graph, N, 11);
      const loss = attackLoss('ce', labels, null);
      const { gradient, logits, loss: perSample } = await network.valueAndGradient(x, loss);
      for (let d = 0; d < 3; d++) {
        const v = batch(graph, N, 100 + d);
        const analytic = tf.sum(tf.mul(gradient, v)).dataSync()[0]!;
        const numeric = await directional(network, x, v, 1e-2, loss);
        expect(Math.abs(numeric - analytic)).toBeLessThan(1e-3 * Math.max(1, Math.abs(analytic)));
        v.dispose();
      }
      tf.dispose([x, gradient, logits, perSample]);
      network.dispose();
      graph.dispose();
    });
  }
});

describe('onnxruntime executor: contract', () => {
  it('leaves tf.memory().numTensors as it found it, apart from the tensors it returns', async () => {
    const graph = GRAPHS['max pools: 2×2, 3×3 stride 2 same, explicit pads']!();
    const network = (await onnxruntimeNetwork(graph, { threads: 1 })) as OrtNetwork;
    const x = batch(graph, 3, 4);
    for (const loss of [attackLoss('dlr', labels.subarray(0, 3), null), customLoss2(3)]) {
      const before = tf.memory().numTensors;
      const logits = await network.forward(x);
      const result = await network.valueAndGradient(x, loss);
      expect(tf.memory().numTensors).toBe(before + 4);
      tf.dispose([logits, result.logits, result.loss, result.gradient]);
      expect(tf.memory().numTensors).toBe(before);
    }
    expect(x.isDisposed).toBe(false);
    x.dispose();
    network.dispose();
    graph.dispose();
  });

  it('refuses a graph with an opaque node, saying which', async () => {
    const b = new GraphBuilder('tfjs-layers', [4]);
    const y = b.add({ kind: 'opaque', name: 'MyLayer', apply: (ins) => tf.mul(ins[0]!, 2) }, [b.input], 'my_layer', [4]);
    const attempt = await tryOnnxruntimeNetwork(b.build(y));
    expect(attempt.network).toBeNull();
    expect(attempt.reason).toMatch(/my_layer.*MyLayer/);
  });

  it('refuses a custom activation', async () => {
    const b = new GraphBuilder('tfjs-layers', [4]);
    const y = b.add({ kind: 'activation', activation: { fn: 'opaque', name: 'mish', apply: (x) => x } }, [b.input], 'act');
    const attempt = await tryOnnxruntimeNetwork(b.build(y));
    expect(attempt.reason).toMatch(/mish/);
  });

  it('rejects a batch of the wrong shape with a typed error', async () => {
    const graph = activationGraph({ fn: 'relu' });
    const network = (await onnxruntimeNetwork(graph, { threads: 1 })) as OrtNetwork;
    const x = tf.zeros([2, 9]);
    await expect(network.forward(x)).rejects.toMatchObject({ code: 'INVALID_SHAPE' });
    x.dispose();
    network.dispose();
    graph.dispose();
  });

  it('emits the models again when a weight tensor changes (a model being trained)', async () => {
    const b = new GraphBuilder('tfjs-layers', [3]);
    const kernel = tf.variable(tf.tensor2d([1, 0, 0, 1, 1, 1], [3, 2]));
    const w: Weight = { shape: [3, 2], tensor: () => kernel };
    const graph = b.build(b.add({ kind: 'dense', kernel: w, bias: null }, [b.input], 'dense'));
    const network = (await onnxruntimeNetwork(graph, { threads: 1 })) as OrtNetwork;
    const x = tf.tensor2d([[1, 2, 3]]);
    const before = await network.forward(x);
    expect(Array.from(before.dataSync())).toEqual([4, 5]);
    kernel.assign(tf.tensor2d([2, 0, 0, 2, 0, 0], [3, 2]));
    const after = await network.forward(x);
    expect(Array.from(after.dataSync())).toEqual([2, 4]);
    tf.dispose([x, before, after, kernel]);
    network.dispose();
  });

  it('serves concurrent calls on one network', async () => {
    const graph = GRAPHS['conv valid, relu, flatten, dense']!();
    const network = (await onnxruntimeNetwork(graph, { threads: 1 })) as OrtNetwork;
    const xs = [1, 2, 3].map((s) => batch(graph, N, s));
    const results = await Promise.all(xs.map((x) => network.valueAndGradient(x, attackLoss('ce', labels, null))));
    for (let i = 0; i < xs.length; i++) {
      const reference = referenceGradient(graph, xs[i]!, attackLoss('ce', labels, null));
      expect(relativeError(results[i]!.gradient.dataSync(), reference.gradient)).toBeLessThan(1e-4);
    }
    tf.dispose([...xs, ...results.flatMap((r) => [r.logits, r.loss, r.gradient])]);
    network.dispose();
    graph.dispose();
  });
});

function customLoss2(n: number): LossFn {
  return (logits) => tf.tidy(() => tf.sum(tf.mul(tf.square(logits), tf.linspace(0.1, 1, n).reshape([n, 1])), 1) as tf.Tensor1D);
}

