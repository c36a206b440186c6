/**
 * Concurrent robustest calls on one classifier, and the caller's own tensors while a call is
 * pending: every call must give the result it gives alone, and nothing the caller made may be
 * disposed by robustest.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { classifier, ensureBackend, evaluate, fgsm, pgd } from '../../src/index.js';
import { loadMnistModel } from '../../examples/mnist/models.js';
import { mnistSplit } from '../../examples/mnist/data.js';

function digitsOf(count: number) {
  const set = mnistSplit('test', count);
  return { inputs: tf.tensor4d(set.images, [set.count, 28, 28, 1]), labels: Array.from(set.labels) };
}

const stable = (r: { seconds: number }) => ({ ...r, seconds: 0 });

describe('concurrent calls', () => {
  it('four evaluate() calls in Promise.all give the sequential results and leak nothing', async () => {
    await ensureBackend();
    const clf = classifier(await loadMnistModel('cnn'), { bounds: [0, 1] });
    const digits = digitsOf(24);
    const attack = pgd({ steps: 5 });
    const options = (seed: number) => ({ attack, epsilons: [0.05, 0.1], seed });
    const sequential = [];
    for (const seed of [1, 2, 3, 4]) sequential.push(stable(await evaluate(clf, digits, options(seed))));
    const before = tf.memory().numTensors;
    const concurrent = await Promise.all([1, 2, 3, 4].map((seed) => evaluate(clf, digits, options(seed))));
    expect(tf.memory().numTensors).toBe(before);
    expect(concurrent.map(stable)).toEqual(sequential);
    tf.dispose(digits.inputs);
  });

  it("never disposes tensors the caller creates while a call is pending", async () => {
    await ensureBackend();
    const clf = classifier(await loadMnistModel('mlp'), { bounds: [0, 1] });
    const digits = digitsOf(32);
    const mine: tf.Tensor[] = [];
    let running = true;
    const pending = evaluate(clf, digits, { attack: fgsm(), epsilons: [0.1, 0.2] }).finally(() => (running = false));
    // Yielding to the event loop, not only to microtasks: onnxruntime-node runs a session from a
    // setImmediate callback, which a loop of bare awaits would never let run.
    while (running) {
      mine.push(tf.ones([2, 2]));
      await new Promise((resolve) => setImmediate(resolve));
    }
    await pending;
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.filter((t) => t.isDisposed)).toEqual([]);
    tf.dispose(mine);
    tf.dispose(digits.inputs);
  });
});
