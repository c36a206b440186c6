/**
 * Every ONNX fixture (test/fixtures/onnx/graph, one per op family plus ResNet-like and
 * MobileNet-like stacks of torchvision's blocks) imported and run by the tfjs executor on wasm:
 * logits equal onnxruntime's within 1e-5 relative, and input gradients equal central finite
 * differences of onnxruntime's outputs (directional, in aggregate) within 1e-4 relative.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../src/engine/tfjs/compile.js';
import { Rng } from '../../src/engine/random.js';
import { importOnnx } from '../../src/graph/onnx/index.js';
import { FIXTURES, fixtureBytes, type Fixture, OnnxOracle, relativeError, samples } from '../fixtures/onnx/graph/oracle.js';

const N = 3;
const COORDINATES = 12;
const STEP = 1e-2;
const FORWARD_TOLERANCE = 1e-5;
const GRADIENT_TOLERANCE = 1e-4;
/** Slopes disagreeing by this many times the noise floor have a kink between them. */
const KINK = 4;
/** The gradient's tolerance on models whose finite differences are noisier than 1e-4. */
const NOISE_FACTOR = 4;

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

beforeAll(async () => {
  await tf.setBackend('wasm');
});

/** The onnxClassifier fixtures beside them: a CNN trained on MNIST that reads NHWC, and an NCHW one. */
const CLASSIFIER_FIXTURES: Fixture[] = [
  { file: '../mnist-cnn.onnx', layout: 'nhwc', sampleShape: [28, 28, 1], about: 'a CNN trained on MNIST, NHWC input transposed inside the model' },
  { file: '../rgb-conv.onnx', layout: 'nchw', sampleShape: [6, 6, 3], about: 'an NCHW convolution network' },
];

describe('importOnnx: fixtures against onnxruntime', () => {
  for (const fixture of [...FIXTURES, ...CLASSIFIER_FIXTURES]) {
    it(`${fixture.file}: ${fixture.about}`, async () => {
      const bytes = fixtureBytes(fixture.file);
      const oracle = await OnnxOracle.load(bytes, fixture.layout, fixture.sampleShape);
      const x = samples(16, N, fixture.sampleShape);
      const expected = await oracle.outputs(x, N);

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
      // The largest partial derivatives and as many random ones: single-coordinate steps cross
      // few ReLU kinks, and large partials stand well above float32 rounding in the outputs.
      const byMagnitude = Array.from(gradient.keys()).sort((a, b) => Math.abs(gradient[b]!) - Math.abs(gradient[a]!));
      const coordinates = [...byMagnitude.slice(0, COORDINATES), ...Array.from({ length: COORDINATES }, () => rng.int(x.length))];
      const analytic = coordinates.map((i) => gradient[i]!);
      // A step across a ReLU or clip kink, or a max switching operands, measures a chord, not
      // the derivative; its slopes then disagree (OnnxOracle.slopes), and that coordinate says
      // nothing about the gradient. float32 rounding in onnxruntime's outputs gives every slope
      // a noise floor, the median disagreement: kinks stand out above it, and the gradient must
      // match within 1e-4 relative, or within a few times that floor on deep models.
      const slopes = [];
      for (const i of coordinates) slopes.push(await oracle.slopes(x, N, weights, i, STEP));
      const scale = Math.max(...slopes.map((s) => Math.abs(s.narrow)));
      const spread = slopes.map((s) => Math.max(Math.abs(s.wide - s.narrow), Math.abs(s.forward - s.backward)) / scale);
      const noise = median(spread);
      const smooth = spread.map((d) => d <= Math.max(KINK * noise, GRADIENT_TOLERANCE));
      const kept = <T,>(values: readonly T[]) => values.filter((_, k) => smooth[k]);
      const numeric = kept(slopes.map((s) => (s.wide + s.narrow) / 2));
      const gradientError = relativeError(kept(analytic), numeric);
      const tolerance = Math.max(GRADIENT_TOLERANCE, NOISE_FACTOR * noise);
      console.log(`${fixture.file}: forward error ${forwardError.toExponential(2)}; gradient error ${gradientError.toExponential(2)} (finite-difference noise ${noise.toExponential(2)}) on ${numeric.length} of ${coordinates.length} coordinates`);
      // Half the coordinates at least, and one of the largest partial derivatives among them.
      expect(numeric.length).toBeGreaterThanOrEqual(coordinates.length / 2);
      expect(kept(coordinates.map((_, k) => k < COORDINATES))).toContain(true);
      tf.dispose([input, logits, result.logits, result.loss, result.gradient]);
      network.dispose();
      expect(tf.memory().numTensors).toBe(before);
      expect(forwardError).toBeLessThan(FORWARD_TOLERANCE);
      expect(gradientError).toBeLessThan(tolerance);
    });
  }
});
