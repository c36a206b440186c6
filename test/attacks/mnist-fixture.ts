/**
 * A small MNIST MLP trained in the test process with fixed seeds: deterministic, fast, and
 * independent of any stored model file.
 */
import * as tf from '@tensorflow/tfjs';
import { ensureBackend } from '../../src/index.js';
import { mnistSplit } from '../../examples/mnist/data.js';

export interface MnistFixture {
  model: tf.LayersModel;
  /** Correctly classified test digits. */
  inputs: tf.Tensor;
  labels: number[];
  accuracy: number;
}

export async function trainMnistMlp(testCount: number): Promise<MnistFixture> {
  await ensureBackend();
  const train = mnistSplit('train', 2000);
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [28, 28, 1] }),
      tf.layers.dense({ units: 64, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
      tf.layers.dense({ units: 10, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(0.003), loss: tf.losses.softmaxCrossEntropy });
  const xs = tf.tensor4d(train.images, [train.count, 28, 28, 1]);
  const ys = tf.oneHot(tf.tensor1d(train.labels, 'int32'), 10);
  await model.fit(xs, ys, { epochs: 6, batchSize: 64, shuffle: false, verbose: 0 });
  tf.dispose([xs, ys]);

  const test = mnistSplit('test', testCount * 2);
  const all = tf.tensor4d(test.images, [test.count, 28, 28, 1]);
  const predicted = tf.tidy(() => tf.argMax(model.predict(all) as tf.Tensor, 1)).dataSync();
  const correct = [...Array(test.count).keys()].filter((i) => predicted[i] === test.labels[i]);
  const keep = correct.slice(0, testCount);
  const inputs = tf.gather(all, keep);
  all.dispose();
  return { model, inputs, labels: keep.map((i) => test.labels[i]!), accuracy: correct.length / test.count };
}
