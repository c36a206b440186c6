/**
 * The onnxruntime executor against the tfjs executor on graphs imported from tfjs LayersModels
 * (small seeded models of every layer kind, and the bundled MNIST models mlp, cnn and mlp-at):
 * logits within 1e-5 relative, per-sample loss within 1e-5 and input gradients within 1e-4
 * relative for every attack loss; no call leaves a tensor behind.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importLayersModel } from '../../src/graph/tfjs-layers/import.js';
import { compileGraph } from '../../src/engine/tfjs/compile.js';
import { onnxruntimeNetwork, tryOnnxruntimeNetwork, type OrtNetwork } from '../../src/engine/onnxruntime/index.js';
import { attackLoss, criterionMargin } from '../../src/attacks/losses.js';
import { ensureBackend } from '../../src/backend.js';
import { Rng } from '../../src/engine/random.js';
import type { LossFn } from '../../src/engine/tfjs/types.js';
import type { ModelGraph } from '../../src/graph/types.js';
import { relativeError } from '../support/graph-reference.js';
import { bundledModel } from './onnxruntime-bundled.js';

const init = (seed: number) => ({ kernelInitializer: tf.initializers.glorotUniform({ seed }), biasInitializer: tf.initializers.randomUniform({ minval: -0.2, maxval: 0.2, seed: seed + 100 }) });

function sequential(inputShape: number[], layers: (first: { inputShape: number[] }) => tf.layers.Layer[]): tf.LayersModel {
  return tf.sequential({ layers: layers({ inputShape }) });
}

/** Batch norm with moving statistics away from 0 and 1, so that inference mode is exercised. */
function batchNorm(seed: number): tf.layers.Layer {
  return tf.layers.batchNormalization({
    movingMeanInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed }),
    movingVarianceInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: seed + 1 }),
    gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: seed + 2 }),
    betaInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: seed + 3 }),
  });
}

function residualModel(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 3] });
  const a = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', ...init(1) }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ filters: 4, kernelSize: 1, ...init(2) }).apply(input) as tf.SymbolicTensor;
  const sum = tf.layers.add().apply([a, b]) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate().apply([sum, a]) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(cat) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 5, ...init(3) }).apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

const ACTIVATIONS = ['relu', 'relu6', 'elu', 'sigmoid', 'hardSigmoid', 'tanh', 'softplus', 'swish', 'gelu', 'linear'] as const;
/** Activations the graph holds as opaque tfjs functions: onnxruntime refuses them, by name. */
const OPAQUE = ['selu', 'softsign'] as const;

const MODELS: Record<string, () => tf.LayersModel> = {
  'conv (valid, same, strided), zero padding, max pool, flatten, dense': () =>
    sequential([12, 12, 2], (first) => [
      tf.layers.conv2d({ ...first, filters: 4, kernelSize: 3, activation: 'relu', ...init(1) }),
      tf.layers.zeroPadding2d({ padding: [[1, 0], [0, 1]] }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', ...init(2) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5, ...init(3) }),
    ]),
  'depthwise (multiplier 2, stride 2, same), batch norm, relu6, average pool, global average': () =>
    sequential([11, 11, 3], (first) => [
      tf.layers.depthwiseConv2d({ ...first, kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', depthwiseInitializer: tf.initializers.glorotUniform({ seed: 4 }) }),
      batchNorm(5),
      tf.layers.reLU({ maxValue: 6 }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 1 }),
      tf.layers.conv2d({ filters: 4, kernelSize: 1, ...init(6) }),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: 5, activation: 'softmax', ...init(7) }),
    ]),
  'residual add, concatenate, global average (a value read by two nodes)': residualModel,
  'dense with batch norm, leaky relu, reshape': () =>
    sequential([20], (first) => [
      tf.layers.dense({ ...first, units: 16, ...init(8) }),
      batchNorm(9),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.reshape({ targetShape: [4, 2, 2] }),
      tf.layers.conv2d({ filters: 3, kernelSize: 2, padding: 'same', activation: 'tanh', ...init(10) }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5, ...init(11) }),
    ]),
  ...Object.fromEntries(
    ACTIVATIONS.map((activation, i) => [
      `activation ${activation}`,
      () =>
        sequential([10], (first) => [
          tf.layers.dense({ ...first, units: 12, activation, ...init(20 + i) }),
          tf.layers.dense({ units: 5, ...init(40 + i) }),
        ]),
    ]),
  ),
};

const N = 5;
const labels = Int32Array.from({ length: N }, (_, i) => i % 5);
const targets = Int32Array.from({ length: N }, (_, i) => (i + 3) % 5);

function losses(labels: Int32Array, targets: Int32Array): Record<string, LossFn> {
  return {
    'cross-entropy': attackLoss('ce', labels, null),
    'targeted cross-entropy': attackLoss('ce', labels, targets),
    margin: attackLoss('margin', labels, null),
    'capped margin': attackLoss('margin', labels, null, { cap: 0.1 }),
    'criterion margin (targeted)': criterionMargin(labels, targets),
    DLR: attackLoss('dlr', labels, null),
    'targeted DLR': attackLoss('dlr', labels, targets),
    'a loss only tfjs knows': (logits) => tf.tidy(() => tf.sum(tf.mul(tf.sin(logits), tf.range(1, logits.shape[1] + 1)), 1) as tf.Tensor1D),
  };
}

async function compare(graph: ModelGraph, x: tf.Tensor, lossSet: Record<string, LossFn>): Promise<void> {
  const tfjs = compileGraph(graph);
  const ort = (await onnxruntimeNetwork(graph, { threads: 1 })) as OrtNetwork;
  expect(ort).not.toBeNull();
  try {
    const before = tf.memory().numTensors;
    const z = tfjs.forward(x);
    const zo = await ort.forward(x);
    expect(relativeError(zo.dataSync(), z.dataSync())).toBeLessThan(1e-5);
    tf.dispose([z, zo]);
    for (const [name, loss] of Object.entries(lossSet)) {
      const expected = tfjs.valueAndGradient(x, loss);
      const actual = await ort.valueAndGradient(x, loss);
      const errors = {
        logits: relativeError(actual.logits.dataSync(), expected.logits.dataSync()),
        loss: relativeError(actual.loss.dataSync(), expected.loss.dataSync()),
        gradient: relativeError(actual.gradient.dataSync(), expected.gradient.dataSync()),
      };
      expect({ name, logits: errors.logits < 1e-5, loss: errors.loss < 1e-5, gradient: errors.gradient < 1e-4 }, JSON.stringify(errors)).toEqual({ name, logits: true, loss: true, gradient: true });
      tf.dispose([expected.logits, expected.loss, expected.gradient, actual.logits, actual.loss, actual.gradient]);
    }
    expect(tf.memory().numTensors).toBe(before);
  } finally {
    tfjs.dispose();
    ort.dispose();
  }
}

beforeAll(async () => {
  await ensureBackend();
});

describe('onnxruntime executor equals the tfjs executor on imported LayersModels', () => {
  for (const [name, build] of Object.entries(MODELS)) {
    it(name, async () => {
      const model = build();
      const graph = importLayersModel(model)!;
      expect(graph).not.toBeNull();
      const shape = graph.shapes[graph.input]!;
      const x = tf.tensor(new Rng(3).fillUniform(new Float32Array(N * shape.reduce((p, q) => p * q, 1)), -1, 1), [N, ...shape]);
      await compare(graph, x, losses(labels, targets));
      x.dispose();
      graph.dispose();
      model.dispose();
    });
  }
});

describe('a branching model (a value read by an add and a concatenation)', () => {
  // Checked against tf.grad through the LayersModel itself on the cpu backend: its output is logits.
  it('logits, loss and gradient equal the model and tf.grad', async () => {
    const model = residualModel();
    const graph = importLayersModel(model)!;
    const network = (await onnxruntimeNetwork(graph, { threads: 1 })) as OrtNetwork;
    const previous = tf.getBackend();
    await tf.setBackend('cpu');
    try {
      const x = tf.tensor(new Rng(4).fillUniform(new Float32Array(N * 192), -1, 1), [N, 8, 8, 3]);
      for (const loss of Object.values(losses(labels, targets))) {
        const logits = model.predict(x) as tf.Tensor2D;
        const expectedLoss = loss(logits);
        const expected = tf.grad((input: tf.Tensor) => tf.sum(loss(model.apply(input) as tf.Tensor2D)))(x);
        const actual = await network.valueAndGradient(x, loss);
        expect(relativeError(actual.logits.dataSync(), logits.dataSync())).toBeLessThan(1e-5);
        expect(relativeError(actual.loss.dataSync(), expectedLoss.dataSync())).toBeLessThan(1e-5);
        expect(relativeError(actual.gradient.dataSync(), expected.dataSync())).toBeLessThan(1e-4);
        tf.dispose([logits, expectedLoss, expected, actual.logits, actual.loss, actual.gradient]);
      }
      x.dispose();
    } finally {
      await tf.setBackend(previous);
      network.dispose();
      graph.dispose();
      model.dispose();
    }
  });
});

describe('activations known only by their tfjs implementation', () => {
  for (const activation of OPAQUE) {
    it(`${activation}: no onnxruntime network, and the reason names it`, async () => {
      const model = sequential([10], (first) => [tf.layers.dense({ ...first, units: 5, activation, ...init(60) })]);
      const graph = importLayersModel(model)!;
      const attempt = await tryOnnxruntimeNetwork(graph);
      expect(attempt.network).toBeNull();
      expect(attempt.reason).toContain(activation);
      graph.dispose();
      model.dispose();
    });
  }
});

describe('onnxruntime executor equals the tfjs executor on the bundled MNIST models', () => {
  let digits: tf.Tensor;
  let digitLabels: Int32Array;
  beforeAll(async () => {
    const { mnistSamples } = await import('../../examples/mnist/models.js');
    const samples = mnistSamples(16);
    digits = samples.inputs;
    digitLabels = Int32Array.from(samples.labels);
  });
  afterAll(() => digits?.dispose());

  for (const name of ['mlp', 'cnn', 'mlp-at']) {
    it(name, async () => {
      const model = await bundledModel(name);
      const graph = importLayersModel(model)!;
      expect(graph.peeledSoftmax).toBe(true);
      const towards = digitLabels.map((l) => (l + 1) % 10);
      await compare(graph, digits, losses(digitLabels, towards));
      graph.dispose();
      model.dispose();
    });
  }
});
