/** Model outputs that cannot carry a verdict are errors with expected and received, never a verdict. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { classifier, evaluate, fgsm, onnxClassifier, square, type OnnxSession } from '../../src/index.js';
import { linearFunction } from '../support/models.js';

const samples = { inputs: [[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5], [0.9, 0.1, 0.9, 0.1]], labels: [0, 1, 0] };
const linear = linearFunction([[1, -1, 0], [0, 1, -1], [-1, 0, 1], [0.5, 0.5, -1]], [0, 0.1, -0.1]);

const invalidOutput = (message: string) => ({ code: 'INVALID_OUTPUT', message: expect.stringContaining(message) });

describe('model outputs are checked', () => {
  it('NaN scores', async () => {
    const nan = classifier(function nanModel(x: tf.Tensor) {
      return tf.tidy(() => tf.mul(linear(x), tf.scalar(NaN)));
    });
    await expect(evaluate(nan, samples, { attack: fgsm(), epsilons: [0.1] })).rejects.toMatchObject(invalidOutput('non-finite'));
    await expect(fgsm().run(nan, samples, { epsilon: 0.1 })).rejects.toMatchObject(invalidOutput('non-finite'));
  });

  it('one score per input', async () => {
    const single = classifier(function oneScore(x: tf.Tensor) {
      return tf.tidy(() => tf.slice(linear(x), [0, 0], [-1, 1]));
    });
    await expect(fgsm().run(single, samples, { epsilon: 0.1 })).rejects.toMatchObject(invalidOutput('at least 2 classes'));
    await expect(square({ queries: 20 }).run(single, samples, { epsilon: 0.1 })).rejects.toMatchObject(invalidOutput('at least 2 classes'));
  });

  it('a row too few or too many', async () => {
    for (const delta of [-1, 1]) {
      const ragged = classifier(function rowsOff(x: tf.Tensor) {
        return tf.tidy(() => {
          const z = linear(x);
          return delta < 0 ? tf.slice(z, 0, z.shape[0]! - 1) : tf.concat([z, tf.slice(z, 0, 1)]);
        });
      });
      await expect(evaluate(ragged, samples, { attack: fgsm(), epsilons: [0.1] })).rejects.toMatchObject(invalidOutput('rows of scores for'));
    }
  });

  it('integer outputs', async () => {
    const indices = classifier(function classIndices(x: tf.Tensor) {
      return tf.tidy(() => tf.cast(linear(x), 'int32'));
    });
    await expect(evaluate(indices, samples, { attack: fgsm(), epsilons: [0.1] })).rejects.toMatchObject(invalidOutput('int32 scores'));
  });

  it('logits declared as probabilities', async () => {
    const declared = classifier(linear, { outputs: 'probabilities' });
    await expect(evaluate(declared, samples, { attack: fgsm(), epsilons: [0.1] })).rejects.toMatchObject(invalidOutput('declared to output probabilities'));
  });

  it('ONNX: int64 and NaN outputs, and a session that fails', async () => {
    /** A session answering each batch of n inputs with n rows from `rows`. */
    const session = (output: { type: string; rows: (n: number) => unknown } | Error): OnnxSession => ({
      inputNames: ['input'],
      outputNames: ['scores'],
      async run(feeds) {
        if (output instanceof Error) throw output;
        const n = (feeds.input as { dims: number[] }).dims[0]!;
        return { scores: { type: output.type, data: output.rows(n), dims: [n, 2] } };
      },
    });
    const runtime = { Tensor: class { constructor(readonly type: 'float32', readonly data: Float32Array, readonly dims: readonly number[]) {} } };
    const int64 = onnxClassifier(session({ type: 'int64', rows: (n) => new BigInt64Array(2 * n) }), { runtime });
    await expect(evaluate(int64, samples, { attack: square({ queries: 10 }), epsilons: [0.1] })).rejects.toMatchObject(invalidOutput('int64 scores'));
    const nan = onnxClassifier(session({ type: 'float32', rows: (n) => new Float32Array(2 * n).fill(NaN) }), { runtime });
    await expect(evaluate(nan, samples, { attack: square({ queries: 10 }), epsilons: [0.1] })).rejects.toMatchObject(invalidOutput('non-finite'));
    const failing = onnxClassifier(session(new Error('Got invalid dimensions for input: input for the following indices index: 1 Got: 4 Expected: 3')), { runtime });
    await expect(failing.logits(tf.zeros([3, 4]))).rejects.toMatchObject({ code: 'MODEL_FAILED', message: expect.stringContaining('[3, 4]') });
  });

  it('ONNX: NHWC images fed to a channels-first model name the layout option, with the shape the user passed', async () => {
    const nchw: OnnxSession = {
      inputNames: ['input'],
      outputNames: ['scores'],
      inputMetadata: [{ isTensor: true, shape: ['N', 3, 8, 8] }],
      async run() {
        throw new Error('Got invalid dimensions for input: input for the following indices index: 1 Got: 8 Expected: 3');
      },
    };
    const runtime = { Tensor: class { constructor(readonly type: 'float32', readonly data: Float32Array, readonly dims: readonly number[]) {} } };
    const clf = onnxClassifier(nchw, { runtime });
    const x = tf.zeros([2, 8, 8, 3]);
    await expect(clf.logits(x)).rejects.toMatchObject({ code: 'MODEL_FAILED', message: expect.stringMatching(/\[2, 8, 8, 3\][\s\S]*layout: 'nchw'/) });
    x.dispose();
  });
});
