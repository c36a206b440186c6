import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { classifier, evaluate, fgsm, RobustestError } from '../src/index.js';
import { linearFunction, tinyDenseModel } from './support/models.js';

const model = tinyDenseModel();
const clf = classifier(model);
const good = { inputs: [[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5]], labels: [0, 1] };

async function rejection(promise: Promise<unknown>): Promise<RobustestError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RobustestError);
  return error as RobustestError;
}

describe('validation errors say what was expected and what was received', () => {
  it('input shape that does not fit the model', async () => {
    const e = await rejection(fgsm().run(clf, { inputs: [[0.1, 0.2, 0.3]], labels: [0] }, { epsilon: 0.1 }));
    expect(e.code).toBe('INVALID_SHAPE');
    expect(e.message).toContain('do not fit');
    expect(e.expected).toBe('[?, 4]');
    expect(e.received).toBe('[1, 3]');
  });

  it('ragged nested arrays', async () => {
    const e = await rejection(fgsm().run(clf, { inputs: [[0.1, 0.2, 0.3, 0.4], [0.1]], labels: [0, 1] }, { epsilon: 0.1 }));
    expect(e.code).toBe('INVALID_SHAPE');
    expect(e.message).toContain('ragged at samples.inputs[1]');
    expect(e.received).toBe('an array of length 1');
  });

  it('values outside the bounds are refused, not clipped', async () => {
    const e = await rejection(fgsm().run(clf, { inputs: [[0.1, 0.2, 1.5, 0.4]], labels: [0] }, { epsilon: 0.1 }));
    expect(e.code).toBe('OUT_OF_BOUNDS');
    expect(e.message).toContain('Nothing is clipped');
    expect(e.expected).toBe('values in [0, 1]');
    expect(e.received).toContain('1.5');
  });

  it('NaN and Infinity', async () => {
    const nan = await rejection(fgsm().run(clf, { inputs: [[0.1, 0.2, 0.3, 0.4], [0.1, NaN, 0, 0]], labels: [0, 0] }, { epsilon: 0.1 }));
    expect(nan.code).toBe('NOT_FINITE');
    expect(nan.message).toContain('sample 1');
    expect(nan.received).toBe('NaN');
    const inf = await rejection(fgsm().run(clf, { inputs: tf.tensor2d([[0.1, Infinity, 0.3, 0.4]]), labels: [0] }, { epsilon: 0.1 }));
    expect(inf.code).toBe('NOT_FINITE');
    expect(inf.received).toBe('Infinity');
  });

  it('labels of the wrong count', async () => {
    const e = await rejection(fgsm().run(clf, { inputs: good.inputs, labels: [0, 1, 2] }, { epsilon: 0.1 }));
    expect(e.code).toBe('INVALID_LABELS');
    expect(e.expected).toBe('2 labels (one per input)');
    expect(e.received).toBe('3 labels');
  });

  it('non-integer and out-of-range labels', async () => {
    const fractional = await rejection(fgsm().run(clf, { inputs: good.inputs, labels: [0, 1.5] }, { epsilon: 0.1 }));
    expect(fractional.code).toBe('INVALID_LABELS');
    expect(fractional.message).toContain('labels[1]');
    expect(fractional.received).toBe('1.5');
    const range = await rejection(fgsm().run(clf, { inputs: good.inputs, labels: [0, 3] }, { epsilon: 0.1 }));
    expect(range.code).toBe('INVALID_LABELS');
    expect(range.expected).toBe('an integer in [0, 2]');
    expect(range.received).toBe('3');
  });

  it('one-hot labels get a hint', async () => {
    const e = await rejection(fgsm().run(clf, { inputs: good.inputs, labels: tf.tensor2d([[1, 0, 0], [0, 1, 0]]) }, { epsilon: 0.1 }));
    expect(e.code).toBe('INVALID_LABELS');
    expect(e.received).toContain('one-hot');
  });

  it('epsilon < 0, NaN or missing', async () => {
    for (const epsilon of [-0.1, NaN, undefined]) {
      const e = await rejection(fgsm().run(clf, good, { epsilon }));
      expect(e.code).toBe('INVALID_EPSILON');
      expect(e.expected).toBe('a finite number ≥ 0');
    }
    const curve = await rejection(evaluate(clf, good, { attack: fgsm(), epsilons: [0.1, -1] }));
    expect(curve.message).toContain('epsilons[1]');
  });

  it('probabilities where logits were declared', async () => {
    const declared = classifier(model, { outputs: 'logits' });
    const e = await rejection(fgsm().run(declared, good, { epsilon: 0.1 }));
    expect(e.code).toBe('NOT_LOGITS');
    expect(e.message).toContain('probabilities');
    const softmaxFn = classifier((x: tf.Tensor) => tf.softmax(tf.reshape(x, [x.shape[0], -1])), { outputs: 'logits' });
    const f = await rejection(fgsm().run(softmaxFn, good, { epsilon: 0.1 }));
    expect(f.code).toBe('NOT_LOGITS');
    expect(f.message).toContain('sums to 1');
  });

  it('things that are not models, bounds that are not bounds', () => {
    expect(() => classifier(42)).toThrow(/cannot wrap this model[\s\S]*Received: 42/);
    expect(() => classifier(model, { bounds: [1, 0] as unknown as [number, number] })).toThrow(/low < high/);
    expect(() => classifier(model, { outputs: 'softmax' as never })).toThrow(/'logits' \| 'probabilities' \| 'auto'/);
  });

  it('no tfjs stack trace leaks for bad input', async () => {
    const e = await rejection(fgsm().run(classifier(linearFunction([[1], [1]], [0])), { inputs: [[0.5, 0.5, 0.5]], labels: [0] }, { epsilon: 0.1 }));
    // Function models declare no input shape: the model's own failure is reported with the shape it got.
    expect(e.code).toBe('MODEL_FAILED');
    expect(e.message).toContain('inputs of shape [1, 3]');
    expect(e.received).toContain('matMul');
  });
});
