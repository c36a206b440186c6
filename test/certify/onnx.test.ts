/**
 * Certificates on an ONNX model, read through its model graph (NCHW convolution, flatten in
 * channels-first order): the same margins, to float32 rounding, as on its tfjs-layers twin (the
 * same weights in NHWC), for IBP, CROWN and α-CROWN, in L∞ and L2.
 */
import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certify, onnxClassifier } from '../../src/index.js';
import { onnxBytes, tfjsTwin } from '../fixtures/onnx/twin.js';
import { correctDigits } from '../blackbox/helpers.js';

let session: ort.InferenceSession;
let twin: tf.LayersModel;
let digits: { inputs: tf.Tensor4D; labels: number[] };

beforeAll(async () => {
  session = await ort.InferenceSession.create(onnxBytes('mnist-cnn'));
  twin = tfjsTwin('mnist-cnn');
  digits = correctDigits(twin, 4);
});
afterAll(async () => {
  digits.inputs.dispose();
  twin.dispose();
  await session.release();
});

describe('certify() on an ONNX model', () => {
  it.each([
    ['ibp', 'linf', [0.005, 0.02]],
    ['crown', 'linf', [0.005, 0.02]],
    ['alpha-crown', 'linf', [0.02]],
    ['crown', 'l2', [0.1, 0.5]],
  ] as const)('%s (%s) gives the margins of its tfjs-layers twin', async (method, norm, epsilons) => {
    const clf = onnxClassifier(session, { model: onnxBytes('mnist-cnn') });
    expect(clf.graph?.()).not.toBeNull();
    const onnx = await certify(clf, digits, { epsilons: [...epsilons], norm, method });
    const layers = await certify(twin, digits, { epsilons: [...epsilons], norm, method });
    onnx.samples.forEach((s, i) => {
      expect(s.prediction).toBe(layers.samples[i]!.prediction);
      s.margins.forEach((m, e) => expect(Math.abs(m - layers.samples[i]!.margins[e]!)).toBeLessThan(1e-4 * (1 + Math.abs(m))));
      expect(s.certified).toEqual(layers.samples[i]!.certified);
    });
    expect(onnx.certifiedAccuracy.some((a) => a > 0)).toBe(true);
  });

  it('without the model bytes there is no graph to bound: INVALID_MODEL says how to give it', async () => {
    await expect(certify(onnxClassifier(session), digits, { epsilons: [0.01] })).rejects.toMatchObject({ code: 'INVALID_MODEL', message: expect.stringContaining('model: bytes') });
  });
});
