/**
 * Thousands of tensors made on another backend before robustest's call: moving them into the wasm
 * heap grows it, which used to detach a buffer tfjs had already taken.
 */
import * as tf from '@tensorflow/tfjs';
import { expect, it } from 'vitest';
import { classifier, evaluate, fgsm } from '../../src/index.js';
import { loadMnistModel } from '../../examples/mnist/models.js';

it('4,000 MNIST-size tensors made on the cpu backend, then evaluate() on wasm', async () => {
  await tf.setBackend('cpu');
  const model = await loadMnistModel('cnn');
  const many = Array.from({ length: 4000 }, (_, i) => tf.fill([28, 28, 1], (i % 100) / 100));
  const inputs = tf.stack(many);
  const labels = tf.tensor1d(new Array(4000).fill(1), 'int32');
  const report = await evaluate(classifier(model), { inputs, labels }, { attack: fgsm(), epsilons: [0.1] });
  expect(tf.getBackend()).toBe('wasm');
  expect(report.count).toBe(4000);
  expect((await many[3999]!.data())[0]).toBeCloseTo(0.99);
  tf.dispose([...many, inputs, labels]);
});
