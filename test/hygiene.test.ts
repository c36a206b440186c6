import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { classifier, ensureBackend, evaluate, fgsm } from '../src/index.js';
import { linearFunction, tinyDenseModel } from './support/models.js';

const samples = { inputs: [[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5], [0.9, 0.1, 0.9, 0.1]], labels: [0, 1, 2] };

async function leaked(body: () => Promise<unknown>): Promise<number> {
  await ensureBackend();
  const before = tf.memory().numTensors;
  await body().catch(() => undefined);
  return tf.memory().numTensors - before;
}

describe('every public call leaves tf.memory().numTensors as it found it', () => {
  const layers = classifier(tinyDenseModel());
  const fn = classifier(linearFunction([[1, -1, 0], [0, 1, -1], [-1, 0, 1], [0.5, 0.5, -1]], [0, 0.1, -0.1]));

  it('attack runs (the caller owns and disposes the adversarials)', async () => {
    for (const clf of [layers, fn]) {
      expect(
        await leaked(async () => {
          const run = await fgsm().run(clf, samples, { epsilon: 0.1 });
          run.adversarials.dispose();
        }),
      ).toBe(0);
    }
  });

  it('evaluate, with tensor inputs and with nested arrays', async () => {
    expect(await leaked(() => evaluate(layers, samples, { attack: fgsm(), epsilons: [0, 0.1, 0.3] }))).toBe(0);
    const inputs = tf.tensor2d(samples.inputs);
    const labels = tf.tensor1d(samples.labels, 'int32');
    expect(await leaked(() => evaluate(fn, { inputs, labels }, { attack: fgsm({ norm: 'l2' }), epsilons: [0.5] }))).toBe(0);
    expect(inputs.isDisposed).toBe(false);
    tf.dispose([inputs, labels]);
  });

  it('classifier logits and gradients (caller disposes what it gets)', async () => {
    const x = tf.tensor2d(samples.inputs);
    expect(
      await leaked(async () => {
        tf.dispose(await layers.logits(x));
        const g = await fn.valueAndGradient(x, (z) => tf.sum(z, 1) as tf.Tensor1D);
        tf.dispose([g.logits, g.loss, g.gradient]);
      }),
    ).toBe(0);
    x.dispose();
  });

  it('failures included', async () => {
    expect(await leaked(() => fgsm().run(layers, { inputs: [[0.1, 0.2, 7, 0.4]], labels: [0] }, { epsilon: 0.1 }))).toBe(0);
    expect(await leaked(() => fgsm().run(layers, samples, { epsilon: -1 }))).toBe(0);
    expect(await leaked(() => evaluate(layers, { inputs: samples.inputs, labels: [0, 1, 9] }, { attack: fgsm(), epsilons: [0.1] }))).toBe(0);
    const throwing = classifier(() => {
      tf.ones([3, 3]);
      throw new Error('boom');
    });
    expect(await leaked(() => fgsm().run(throwing, samples, { epsilon: 0.1 }))).toBe(0);
  });
});

describe('probabilities from a model the engine cannot peel', () => {
  it('are attacked through their logarithm, with exact gradients and no leaks', async () => {
    const dense = tinyDenseModel(3);
    // A softmax hidden in a function: the engine sees none, 'auto' detects probabilities.
    const fn = classifier((x: tf.Tensor) => dense.predict(x) as tf.Tensor, { name: 'hidden softmax' });
    const layers = classifier(dense);
    const x = tf.tensor2d(samples.inputs);
    expect(
      await leaked(async () => {
        const a = await fn.logits(x);
        const b = await layers.logits(x);
        // Log-probabilities and peeled logits differ by a constant per row.
        const spread = tf.tidy(() => tf.max(tf.abs(tf.sub(tf.sub(a, b), tf.mean(tf.sub(a, b), 1, true)))));
        expect(spread.dataSync()[0]).toBeLessThan(1e-4);
        tf.dispose([a, b, spread]);
        const loss = (z: tf.Tensor2D) => tf.sub(tf.logSumExp(z, 1), tf.squeeze(tf.slice(z, [0, 0], [-1, 1]), [1])) as tf.Tensor1D;
        const ga = await fn.valueAndGradient(x, loss);
        const gb = await layers.valueAndGradient(x, loss);
        const gap = tf.tidy(() => tf.max(tf.abs(tf.sub(ga.gradient, gb.gradient))));
        expect(gap.dataSync()[0]).toBeLessThan(1e-4);
        tf.dispose([ga.logits, ga.loss, ga.gradient, gb.logits, gb.loss, gb.gradient, gap]);
      }),
    ).toBe(0);
    x.dispose();
  });

  it('a loss that throws inside tf.grad leaves no tensors behind', async () => {
    const fn = classifier(linearFunction([[1, -1, 0], [0, 1, -1], [-1, 0, 1], [0.5, 0.5, -1]], [0, 0.1, -0.1]));
    const x = tf.tensor2d(samples.inputs);
    await fn.logits(x).then((z) => z.dispose());
    expect(
      await leaked(() =>
        fn.valueAndGradient(x, (z) => {
          tf.exp(z);
          throw new Error('loss failed');
        }),
      ),
    ).toBe(0);
    x.dispose();
  });
});
