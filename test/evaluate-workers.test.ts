import * as tf from '@tensorflow/tfjs';
import { availableParallelism } from 'node:os';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { classifier, ensureBackend, evaluate, pgd, square, type RobustnessReport } from '../src/index.js';
import { loadMnistModel, mnistSamples } from '../examples/mnist/models.js';
import { ShardPool } from '../src/engine/shards/pool.js';
import { autoThreads, threadsPay } from '../src/engine/shards/policy.js';

const digits = mnistSamples(40);
afterAll(() => digits.inputs.dispose());
const same = (r: RobustnessReport) => ({ ...r, seconds: 0, workers: 0 });

describe('evaluate on worker threads', () => {
  it('gives exactly the single-thread report, with each thread on its own backend', async () => {
    await ensureBackend();
    const clf = classifier(await loadMnistModel('mlp'));
    const before = tf.memory().numTensors;
    const options = { attack: pgd({ steps: 10 }), epsilons: [0.02, 0.05, 0.1], seed: 3 };
    const single = await evaluate(clf, digits, { ...options, workers: 1 });
    const sharded = await evaluate(clf, digits, { ...options, workers: 2 });
    expect(single.workers).toBe(1);
    expect(sharded.workers).toBe(2);
    expect(same(sharded)).toEqual(same(single));
    expect(single.robustAccuracy[2]).toBeLessThan(single.robustAccuracy[0]!);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps models that cannot travel (plain functions) on this thread', async () => {
    const model = await loadMnistModel('mlp');
    const fn = classifier((x: tf.Tensor) => model.predict(x) as tf.Tensor, { name: 'fn' });
    const report = await evaluate(fn, digits, { attack: square({ queries: 50 }), epsilons: [0.1], workers: 2 });
    expect(report.workers).toBe(1);
  });

  describe("workers: 'auto'", () => {
    const minSeconds = autoThreads.minSeconds;
    afterEach(() => {
      autoThreads.minSeconds = minSeconds;
      vi.restoreAllMocks();
    });
    const options = { attack: pgd({ steps: 10 }), epsilons: [0.02, 0.05, 0.1], seed: 3 };

    it('extrapolates the first chunk of an attack to the rest', () => {
      expect(threadsPay(0.5, 10, 100)).toBe(true); // 4.5 s left
      expect(threadsPay(0.2, 10, 100)).toBe(false); // 1.8 s left
      expect(threadsPay(5, 100, 100)).toBe(false); // nothing left
    });

    it('starts no thread when the rest of each attack is predicted short', async () => {
      autoThreads.minSeconds = Infinity;
      const open = vi.spyOn(ShardPool, 'open');
      const clf = classifier(await loadMnistModel('mlp'));
      const single = await evaluate(clf, digits, { ...options, workers: 1 });
      const auto = await evaluate(clf, digits, { ...options, workers: 'auto' });
      expect(open).not.toHaveBeenCalled();
      expect(auto.workers).toBe(1);
      expect(same(auto)).toEqual(same(single));
    });

    it('starts one thread per core when it is predicted long; the report is unchanged', async () => {
      autoThreads.minSeconds = 0;
      const clf = classifier(await loadMnistModel('mlp'));
      const before = tf.memory().numTensors;
      const single = await evaluate(clf, digits, { ...options, workers: 1 });
      const auto = await evaluate(clf, digits, { ...options, workers: 'auto' });
      expect(auto.workers).toBe(availableParallelism());
      expect(same(auto)).toEqual(same(single));
      expect(tf.memory().numTensors).toBe(before);
    });
  });

  it('refuses a thread count that is not one', async () => {
    const clf = classifier(await loadMnistModel('mlp'));
    await expect(evaluate(clf, digits, { attack: pgd(), epsilons: [0.1], workers: 0 })).rejects.toThrow(/'auto' or an integer ≥ 1/);
  });
});
