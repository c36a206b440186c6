/**
 * Every ONNX fixture (test/fixtures/onnx/graph, one per op family plus ResNet-like and
 * MobileNet-like stacks of torchvision's blocks) imported and run by the tfjs executor on wasm:
 * logits equal onnxruntime's within 1e-5 relative, and input gradients equal central finite
 * differences of onnxruntime's outputs within 1e-4 relative, or within a few times the finite
 * differences' own float32 noise floor where that is higher (deep models; see checkGradient),
 * and tf.grad of a plain-tfjs reading of the graph on the cpu backend within 1e-4.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../src/engine/tfjs/compile.js';
import { Rng } from '../../src/engine/random.js';
import { importOnnx } from '../../src/graph/onnx/index.js';
import { referenceForward } from '../support/graph-reference.js';
import { floatTensor, int64Tensor, model } from '../fixtures/onnx/graph/build.js';
import { checkGradient, GRADIENT_TOLERANCE, sensitivity, FIXTURES, fixtureBytes, type Fixture, OnnxOracle, samples } from '../fixtures/onnx/graph/oracle.js';
import { relativeError } from '../support/graph-reference.js';

const N = 3;
const FORWARD_TOLERANCE = 1e-5;

beforeAll(async () => {
  await tf.setBackend('wasm');
});

/** The onnxClassifier fixtures beside them: a CNN trained on MNIST that reads NHWC, and an NCHW one. */
const CLASSIFIER_FIXTURES: Fixture[] = [
  { file: '../mnist-cnn.onnx', layout: 'nhwc', sampleShape: [28, 28, 1], about: 'a CNN trained on MNIST, NHWC input transposed inside the model' },
  { file: '../rgb-conv.onnx', layout: 'nchw', sampleShape: [6, 6, 3], about: 'an NCHW convolution network' },
];

/** Models written here with onnx-proto: newer opsets' spellings, which Debian's python3-onnx (opset ≤ 17) cannot write, and variadic ops. */
const WRITTEN_HERE: { name: string; bytes: Uint8Array; layout: 'nchw' | 'nhwc'; sampleShape: number[] }[] = [
  {
    name: 'opset 18: Pad with axes, Split with num_outputs, ReduceMean with axes as inputs',
    layout: 'nchw',
    sampleShape: [5, 4, 3],
    bytes: model({
      opset: 18,
      inputDims: [3, 5, 4],
      nodes: [
        { op: 'Pad', inputs: ['input', 'pads', 'value', 'pad_axes'], outputs: ['p'] },
        { op: 'Conv', inputs: ['p', 'w'], outputs: ['c'] },
        { op: 'Split', inputs: ['c'], outputs: ['a', 'b'], attributes: { axis: 1, num_outputs: 2 } },
        { op: 'Mul', inputs: ['a', 'b'], outputs: ['m'] },
        { op: 'ReduceMean', inputs: ['m', 'mean_axes'], outputs: ['output'], attributes: { keepdims: 0 } },
      ],
      initializers: [
        int64Tensor('pads', [4], [1, 0, 2, 1]),
        floatTensor('value', [], [0.25]),
        int64Tensor('pad_axes', [2], [2, 3]),
        floatTensor('w', [4, 3, 2, 2], Array.from({ length: 48 }, (_, i) => Math.sin(i))),
        int64Tensor('mean_axes', [2], [-1, 2]),
      ],
    }),
  },
  {
    name: 'opset 13: variadic Sum, Max, Min, Mean; ReduceSum with axes as an input',
    layout: 'nchw',
    sampleShape: [4, 3, 2],
    bytes: model({
      opset: 13,
      inputDims: [2, 4, 3],
      nodes: [
        { op: 'Sigmoid', inputs: ['input'], outputs: ['s'] },
        { op: 'Sum', inputs: ['input', 's', 'per_channel', 'scalar'], outputs: ['a'] },
        { op: 'Max', inputs: ['a', 's', 'scalar'], outputs: ['b'] },
        { op: 'Min', inputs: ['b', 'cap'], outputs: ['c'] },
        { op: 'Mean', inputs: ['c', 's', 'scalar'], outputs: ['d'] },
        { op: 'ReduceSum', inputs: ['d', 'axes'], outputs: ['r'], attributes: { keepdims: 0 } },
        { op: 'Flatten', inputs: ['r'], outputs: ['output'] },
      ],
      initializers: [floatTensor('per_channel', [2, 1, 1], [0.5, -0.25]), floatTensor('scalar', [], [0.1]), floatTensor('cap', [1, 3], [1.2, 1.5, 0.9]), int64Tensor('axes', [1], [2])],
    }),
  },
  {
    name: 'opset 20: Gelu, exact and tanh-approximated',
    layout: 'nhwc',
    sampleShape: [6],
    bytes: model({
      opset: 20,
      inputDims: [6],
      nodes: [
        { op: 'MatMul', inputs: ['input', 'w1'], outputs: ['h'] },
        { op: 'Gelu', inputs: ['h'], outputs: ['g'] },
        { op: 'MatMul', inputs: ['g', 'w2'], outputs: ['h2'] },
        { op: 'Gelu', inputs: ['h2'], outputs: ['output'], attributes: { approximate: 'tanh' } },
      ],
      initializers: [floatTensor('w1', [6, 5], Array.from({ length: 30 }, (_, i) => 2 * Math.cos(i))), floatTensor('w2', [5, 3], Array.from({ length: 15 }, (_, i) => Math.sin(i + 1)))],
    }),
  },
];

const CASES = [
  ...[...FIXTURES, ...CLASSIFIER_FIXTURES].map((f) => ({ name: `${f.file}: ${f.about}`, bytes: () => fixtureBytes(f.file), layout: f.layout, sampleShape: f.sampleShape })),
  ...WRITTEN_HERE.map((c) => ({ ...c, bytes: () => c.bytes })),
];

describe('importOnnx: fixtures against onnxruntime', () => {
  for (const fixture of CASES) {
    it(fixture.name, async () => {
      const bytes = fixture.bytes();
      const oracle = await OnnxOracle.load(bytes, fixture.layout, fixture.sampleShape);
      const x = samples(16, N, fixture.sampleShape);
      const expected = await oracle.outputs(x, N);
      expect(sensitivity(expected, N)).toBeGreaterThan(1e-3);

      const before = tf.memory().numTensors;
      const graph = importOnnx(bytes, { layout: fixture.layout });
      expect(tf.memory().numTensors).toBe(before);
      expect(graph.shapes[graph.input]).toEqual(fixture.sampleShape);
      const network = compileGraph(graph);
      const input = tf.tensor(x, [N, ...fixture.sampleShape]);
      const logits = network.forward(input);
      let actual = (await logits.data()) as Float32Array;
      if (network.peeledSoftmax) {
        const probabilities = tf.softmax(logits);
        actual = (await probabilities.data()) as Float32Array;
        probabilities.dispose();
      }
      const forwardError = relativeError(actual, expected);

      const rng = new Rng(7);
      const weights = rng.fillNormal(new Float32Array(expected.length));
      const classes = expected.length / N;
      const loss = (z: tf.Tensor2D) => tf.tidy(() => {
        const scores = network.peeledSoftmax ? tf.softmax(z) : z;
        return tf.sum(tf.mul(scores, tf.tensor2d(weights, [N, classes])), 1) as tf.Tensor1D;
      });
      const result = network.valueAndGradient(input, loss);
      const gradient = (await result.gradient.data()) as Float32Array;
      const check = await checkGradient(oracle, x, N, weights, gradient, rng);
      // And exactly: tf.grad of a plain-tfjs reading of the same graph on the cpu backend.
      await tf.setBackend('cpu');
      const exact = tf.tidy(() => tf.grad((z: tf.Tensor) => tf.sum(loss(referenceForward(graph, z) as tf.Tensor2D)))(tf.tensor(x, input.shape)).dataSync() as Float32Array);
      await tf.setBackend('wasm');
      const exactError = relativeError(gradient, exact);
      console.log(`${fixture.name.split(':')[0]}: forward error ${forwardError.toExponential(2)}; gradient error ${check.error.toExponential(2)} (finite-difference noise ${check.noise.toExponential(2)}) on ${check.kept} of ${check.total} directions, ${exactError.toExponential(2)} against tf.grad`);
      // Half the coordinates at least, and one of the largest partial derivatives among them.
      expect(check.kept).toBeGreaterThanOrEqual(check.total / 2);
      expect(check.keptLargest).toBe(true);
      tf.dispose([input, logits, result.logits, result.loss, result.gradient]);
      network.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(forwardError).toBeLessThan(FORWARD_TOLERANCE);
      expect(check.error).toBeLessThan(check.tolerance);
      expect(exactError).toBeLessThan(GRADIENT_TOLERANCE);
    });
  }
});
