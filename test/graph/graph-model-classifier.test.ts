/**
 * classifier(graphModel): a converted GraphModel is read into the model graph, so its input
 * gradients come from robustest's engine on the default wasm backend (tf.grad there would need
 * Conv2DBackpropFilter, which wasm lacks) and equal tf.grad of model.execute on cpu.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { classifier, pgd } from '../../src/index.js';
import { attr, TinyGraph } from '../fixtures/tfjs-graph/graphdef.js';
import { relativeError } from '../support/graph-reference.js';

const NHWC = { data_format: attr.s('NHWC') };

/** Conv (fused bias + relu) → max pool → flatten → fused matmul → softmax, as tfjs-converter writes it. */
async function convertedClassifier(): Promise<tf.GraphModel> {
  const g = new TinyGraph();
  const x = g.placeholder([-1, 8, 8, 2]);
  const conv = g.op('_FusedConv2D', [x, g.random([3, 3, 2, 4]), g.random([4])], {
    ...NHWC,
    strides: attr.ints([1, 1, 1, 1]),
    dilations: attr.ints([1, 1, 1, 1]),
    padding: attr.s('SAME'),
    fused_ops: attr.strings(['BiasAdd', 'Relu']),
    num_args: attr.i(1),
  });
  const pooled = g.op('MaxPool', [conv], { ...NHWC, ksize: attr.ints([1, 2, 2, 1]), strides: attr.ints([1, 2, 2, 1]), padding: attr.s('VALID') });
  const flat = g.op('Reshape', [pooled, g.ints([-1, 64])]);
  const logits = g.op('_FusedMatMul', [flat, g.random([64, 5]), g.random([5])], {
    transpose_a: attr.b(false),
    transpose_b: attr.b(false),
    fused_ops: attr.strings(['BiasAdd']),
    num_args: attr.i(1),
  });
  g.op('Softmax', [logits], {}, 'probabilities');
  return g.load();
}

describe('classifier(GraphModel)', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });

  it('differentiates a converted GraphModel with the engine on wasm, equal to tf.grad on cpu', async () => {
    const model = await convertedClassifier();
    const clf = classifier(model);
    expect(clf.differentiable).toBe(true);
    expect(clf.graph?.()?.format).toBe('tfjs-graph');
    expect(clf.graph?.()?.peeledSoftmax).toBe(true);
    const x = tf.randomUniform([3, 8, 8, 2], 0, 1, 'float32', 4);
    const labels = tf.tensor1d([0, 3, 1], 'int32');
    const loss = (z: tf.Tensor2D) => tf.tidy(() => tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 5), z, undefined, undefined, tf.Reduction.NONE) as tf.Tensor1D);

    const warm = await clf.valueAndGradient(x, loss);
    tf.dispose([warm.logits, warm.loss, warm.gradient]);
    const before = tf.memory().numTensors;
    const result = await clf.valueAndGradient(x, loss);
    expect(clf.gradientPath).not.toContain('tf.grad');
    const engine = result.gradient.dataSync().slice();
    const logProbabilities = result.logits.dataSync().slice();
    tf.dispose([result.logits, result.loss, result.gradient]);
    expect(tf.memory().numTensors).toBe(before);

    const xValues = x.dataSync().slice();
    await tf.setBackend('cpu');
    const input = tf.tensor(xValues, x.shape);
    const reference = tf.tidy(() => {
      const logitsOf = (v: tf.Tensor) => tf.log(model.execute(v) as tf.Tensor2D) as tf.Tensor2D;
      const gradient = tf.grad((v: tf.Tensor) => tf.sum(loss(logitsOf(v))))(input).dataSync().slice();
      const probabilities = (model.execute(input) as tf.Tensor).dataSync().slice();
      return { gradient, probabilities };
    });
    input.dispose();
    await tf.setBackend('wasm');
    expect(relativeError(engine, reference.gradient)).toBeLessThan(1e-4);
    // The classifier's logits are the model's log-probabilities up to a constant per row.
    const softmaxOfLogits = tf.tidy(() => tf.softmax(tf.tensor2d(logProbabilities, [3, 5])).dataSync().slice());
    expect(relativeError(softmaxOfLogits, reference.probabilities)).toBeLessThan(1e-5);
    tf.dispose([x, labels]);
  });

  it('runs PGD on a GraphModel, leak-free, with every adversarial confirmed by model.execute', async () => {
    const model = await convertedClassifier();
    const clf = classifier(model);
    const x = tf.randomUniform([6, 8, 8, 2], 0, 1, 'float32', 9);
    const predicted = tf.tidy(() => (tf.argMax(model.execute(x) as tf.Tensor, 1).arraySync() as number[]));
    const samples = { inputs: x, labels: predicted };
    const warm = await pgd({ steps: 5 }).run(clf, samples, { epsilon: 0.5, seed: 1 });
    warm.adversarials.dispose();
    const before = tf.memory().numTensors;
    const run = await pgd({ steps: 20 }).run(clf, samples, { epsilon: 0.5, seed: 1 });
    expect(run.success.some(Boolean)).toBe(true);
    const after = tf.tidy(() => tf.argMax(model.execute(run.adversarials) as tf.Tensor, 1).arraySync() as number[]);
    run.success.forEach((s, i) => expect(s).toBe(after[i] !== predicted[i]));
    run.adversarials.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
