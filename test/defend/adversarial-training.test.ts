import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { blobs, toyModel } from './toy-problem.js';
import { adversarialTraining, ensureBackend, fgsm, RobustestError } from '../../src/index.js';
import type { TrainingMethod } from '../../src/index.js';

const EPSILON = 0.1;

/** Two Gaussian blobs in the unit square, one per class. */
/**
 * The adversarial loss by brute force: for each sample, the largest cross-entropy over a 21×21
 * grid of the L∞ ball (corners included), clipped to [0, 1]; averaged over samples.
 */
function bruteForceAdversarialLoss(model: tf.LayersModel, data: { inputs: number[][]; labels: number[] }, epsilon: number): number {
  const side = 21;
  return tf.tidy(() => {
    const points: number[][] = [];
    for (const [a, b] of data.inputs) {
      for (let i = 0; i < side; i++) {
        for (let j = 0; j < side; j++) {
          const u = -epsilon + (2 * epsilon * i) / (side - 1);
          const v = -epsilon + (2 * epsilon * j) / (side - 1);
          points.push([Math.min(1, Math.max(0, a! + u)), Math.min(1, Math.max(0, b! + v))]);
        }
      }
    }
    const logP = tf.logSoftmax(model.predict(tf.tensor2d(points)) as tf.Tensor2D);
    const labels = tf.tensor1d(data.labels.flatMap((y) => new Array<number>(side * side).fill(y)), 'int32');
    const ce = tf.neg(tf.sum(tf.mul(logP, tf.oneHot(labels, 2)), 1)).reshape([data.labels.length, side * side]);
    return tf.mean(tf.max(ce, 1)).dataSync()[0]!;
  });
}

async function weightsOf(model: tf.LayersModel): Promise<number[][]> {
  return Promise.all(model.getWeights().map(async (w) => Array.from(await w.data())));
}

describe('adversarialTraining', () => {
  const train = blobs(256, 1);
  const held = blobs(128, 2);

  beforeAll(async () => {
    await ensureBackend();
  });

  const methods: TrainingMethod[] = ['pgd', 'trades', 'fgsm-rs'];
  for (const method of methods) {
    it(`${method}: training steps decrease the brute-force adversarial loss on held-out data`, async () => {
      const model = toyModel(7);
      const before = bruteForceAdversarialLoss(model, held, EPSILON);
      const history = await adversarialTraining(model, train, { method, epsilon: EPSILON, epochs: 6, batchSize: 32, learningRate: 0.01, seed: 1, progress: false });
      const after = bruteForceAdversarialLoss(model, held, EPSILON);
      expect(after).toBeLessThan(0.75 * before);
      // The method's own training loss falls too.
      expect(history.epochs.at(-1)!.loss).toBeLessThan(history.epochs[0]!.loss);
      expect(history).toMatchObject({ method, epsilon: EPSILON, seed: 1, trainSamples: 256, aborted: false });
      model.dispose();
    });
  }

  it('trains on any robustest attack given for method pgd, run at the current ε each batch', async () => {
    const model = toyModel(7);
    const before = bruteForceAdversarialLoss(model, held, EPSILON);
    const history = await adversarialTraining(model, train, { attack: fgsm(), epsilon: EPSILON, epochs: 6, batchSize: 32, learningRate: 0.01, seed: 1, progress: false });
    expect(bruteForceAdversarialLoss(model, held, EPSILON)).toBeLessThan(0.75 * before);
    expect(history.generator).toMatch(/^FGSM/);
    model.dispose();
  });

  it('the same seed gives the same weights; another seed, other weights', async () => {
    const run = async (seed: number) => {
      const model = toyModel(7);
      await adversarialTraining(model, train, { method: 'trades', epsilon: EPSILON, epochs: 2, batchSize: 32, seed, progress: false });
      const weights = await weightsOf(model);
      model.dispose();
      return weights;
    };
    const first = await run(3);
    expect(await run(3)).toEqual(first);
    expect(await run(4)).not.toEqual(first);
  });

  it('ramps ε linearly over the warm-up epochs and reports validation accuracy per epoch', async () => {
    const model = toyModel(7);
    const seen: number[] = [];
    const history = await adversarialTraining(model, train, {
      epsilon: EPSILON,
      epochs: 4,
      warmupEpochs: 2,
      batchSize: 32,
      learningRate: 0.01,
      validationData: held,
      seed: 1,
      progress: false,
      onEpochEnd: (record) => {
        seen.push(record.epoch);
      },
    });
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(history.epochs.map((e) => e.epsilon)).toEqual([EPSILON / 2, EPSILON, EPSILON, EPSILON]);
    for (const { validation } of history.epochs) {
      expect(validation).not.toBeNull();
      expect(validation!.robustAccuracy).toBeLessThanOrEqual(validation!.cleanAccuracy);
      expect(validation!.epsilon).toBe(EPSILON);
      expect(validation!.samples).toBe(128);
    }
    // Plain data: JSON round-trips it unchanged.
    expect(JSON.parse(JSON.stringify(history))).toEqual(history);
    model.dispose();
  });

  it('cosine schedule anneals the learning rate towards zero', async () => {
    const model = toyModel(7);
    const history = await adversarialTraining(model, train, { epsilon: EPSILON, epochs: 3, batchSize: 64, learningRate: 0.01, schedule: 'cosine', optimizer: 'sgd', seed: 1, progress: false });
    const rates = history.epochs.map((e) => e.learningRate!);
    expect(rates[0]).toBeLessThan(0.01);
    expect(rates[2]).toBeLessThan(rates[1]!);
    expect(rates[2]).toBeCloseTo((0.01 * (1 + Math.cos((Math.PI * 11) / 12))) / 2, 10);
    model.dispose();
  });

  it('an aborted signal stops training quietly, returning the epochs done', async () => {
    const model = toyModel(7);
    const controller = new AbortController();
    const history = await adversarialTraining(model, train, {
      epsilon: EPSILON,
      epochs: 5,
      seed: 1,
      progress: false,
      signal: controller.signal,
      onEpochEnd: () => controller.abort(),
    });
    expect(history.aborted).toBe(true);
    expect(history.epochs).toHaveLength(1);
    model.dispose();
  });

  it('leaves tf.memory().numTensors unchanged and never disposes the caller’s tensors', async () => {
    const model = toyModel(7);
    const inputs = tf.tensor2d(train.inputs);
    const labels = tf.tensor1d(train.labels, 'int32');
    const optimizer = tf.train.adam(0.01);
    await adversarialTraining(model, { inputs, labels }, { epsilon: EPSILON, epochs: 1, seed: 1, progress: false, optimizer });
    const before = tf.memory().numTensors;
    for (const method of methods) {
      await adversarialTraining(model, { inputs, labels }, { method, epsilon: EPSILON, epochs: 1, seed: 1, progress: false, validationData: held });
    }
    await adversarialTraining(model, { inputs, labels }, { attack: fgsm(), epsilon: EPSILON, epochs: 1, seed: 1, progress: false, optimizer });
    await adversarialTraining(model, { inputs, labels }, { epsilon: Number.NaN }).catch(() => undefined);
    expect(tf.memory().numTensors).toBe(before);
    expect(inputs.isDisposed || labels.isDisposed).toBe(false);
    optimizer.dispose();
    tf.dispose([inputs, labels]);
    model.dispose();
  });

  it('rejects bad input with typed errors that say what was expected and received', async () => {
    const model = toyModel(7);
    const fail = (options: unknown, m: unknown = model, data: unknown = train) => adversarialTraining(m as never, data as never, options as never);
    await expect(fail({ epsilon: 0 })).rejects.toThrow(/`epsilon` must be a finite number > 0[\s\S]*Received: 0/);
    await expect(fail(undefined)).rejects.toThrow(RobustestError);
    await expect(fail({ epsilon: 0.1, method: 'madry' })).rejects.toThrow(/'pgd' \| 'trades' \| 'fgsm-rs' \| 'ibp'[\s\S]*Received: "madry"/);
    await expect(fail({ epsilon: 0.1, method: 'ibp', kappa: 2 })).rejects.toThrow(/`kappa` must be a finite number in \[0, 1\]/);
    await expect(fail({ epsilon: 0.1, method: 'trades', attack: fgsm() })).rejects.toThrow(/applies to method 'pgd' only/);
    await expect(fail({ epsilon: 0.1, epochs: 2, warmupEpochs: 3 })).rejects.toThrow(/warmupEpochs/);
    await expect(fail({ epsilon: 0.1, lr: 0.1 })).rejects.toThrow(/unknown option `lr`/);
    await expect(fail({ epsilon: 0.1 }, (x: tf.Tensor) => x)).rejects.toThrow(/trains tfjs LayersModels[\s\S]*Expected: a tf.LayersModel/);
    await expect(fail({ epsilon: 0.1 }, model, { inputs: [[0.5, 2]], labels: [0] })).rejects.toThrow(RobustestError);
    await expect(fail({ epsilon: 0.1 }, model, { inputs: train.inputs, labels: train.labels.map(() => 5) })).rejects.toThrow(RobustestError);
    model.dispose();
  });
});
