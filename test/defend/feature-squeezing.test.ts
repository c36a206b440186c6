import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBackend, featureSqueezing, pgd, RobustestError, squeezers } from '../../src/index.js';
import { attackDetector } from '../../src/defend/index.js';
import { calibrate } from '../../src/defend/squeezing/calibration.js';
import { loadMnistModel, mnistSamples } from '../../examples/mnist/models.js';

describe('calibrate', () => {
  it('flags at most ⌊rate·n⌋ clean scores: the threshold is the (n − ⌊rate·n⌋)-th smallest', () => {
    const scores = Array.from({ length: 100 }, (_, i) => (i * 37) % 100);
    expect(calibrate(scores, 0.05)).toEqual({ threshold: 94, requestedFalsePositiveRate: 0.05, achievedFalsePositiveRate: 0.05, samples: 100 });
    expect(calibrate(scores, 0.001).threshold).toBe(99);
  });

  it('reports a lower achieved rate when ties sit at the threshold', () => {
    const scores = [...new Array<number>(90).fill(0), ...new Array<number>(10).fill(1)];
    const c = calibrate(scores, 0.05);
    expect(c.threshold).toBe(1);
    expect(c.achievedFalsePositiveRate).toBe(0);
  });
});

describe('featureSqueezing on the bundled MNIST MLP', () => {
  let model: tf.LayersModel;
  beforeAll(async () => {
    await ensureBackend();
    model = await loadMnistModel('mlp');
  });
  afterAll(() => model.dispose());

  it('the achieved false-positive rate on held-out clean digits is within sampling error of the requested one', async () => {
    const digits = mnistSamples(1600);
    const calibration = digits.inputs.slice(0, 800);
    const held = digits.inputs.slice(800, 800);
    const detector = await featureSqueezing(model, { squeezers: [squeezers.bitDepth(1), squeezers.median(2)], falsePositiveRate: 0.1, calibrateOn: { inputs: calibration, labels: digits.labels.slice(0, 800) } });
    expect(detector.calibration.requestedFalsePositiveRate).toBe(0.1);
    expect(detector.calibration.achievedFalsePositiveRate).toBeLessThanOrEqual(0.1);
    expect(detector.calibration.achievedFalsePositiveRate).toBeGreaterThan(0.09);
    const { flags } = await detector.detect(held);
    const rate = flags.filter(Boolean).length / flags.length;
    // Binomial error of the held-out rate plus that of the calibrated quantile: 3σ.
    const sigma = Math.sqrt(0.1 * 0.9 * (1 / 800 + 1 / 800));
    expect(Math.abs(rate - 0.1)).toBeLessThan(3 * sigma);
    tf.dispose([digits.inputs, calibration, held]);
  });

  it('scores are the joint maximum of the L1 changes of the softmax, recomputed by hand', async () => {
    const digits = mnistSamples(24);
    const detector = await featureSqueezing(model, { calibrateOn: digits.inputs });
    const { scores, squeezerScores, flags, threshold } = await detector.detect(digits.inputs);
    const values = await digits.inputs.data();
    const p = (model.predict(digits.inputs) as tf.Tensor).arraySync() as number[][];
    // Bit depth 1 by hand: values ≥ 0.5 (round half to even: exactly 0.5 goes to 0) become 1.
    const binary = tf.tensor4d(Array.from(values, (v) => (v > 0.5 ? 1 : 0)), digits.inputs.shape as [number, number, number, number]);
    const pBinary = (model.predict(binary) as tf.Tensor).arraySync() as number[][];
    const l1 = (a: number[], b: number[]) => a.reduce((s, v, i) => s + Math.abs(v - b[i]!), 0);
    p.forEach((row, i) => expect(squeezerScores['bit depth 1']![i]).toBeCloseTo(l1(row, pBinary[i]!), 5));
    scores.forEach((s, i) => expect(s).toBe(Math.max(squeezerScores['bit depth 1']![i]!, squeezerScores['median 2×2']![i]!)));
    flags.forEach((f, i) => expect(f).toBe(scores[i]! > threshold));
    expect(detector.describe()).toMatch(/feature squeezing \(bit depth 1, median 2×2; joint max\), threshold .* for 5\.0% false positives \(.*% on 24 calibration inputs\)/);
    tf.dispose([digits.inputs, binary]);
  });

  it('the adaptive attack’s claims hold up: its evading adversarials are misclassified, unflagged and within ε', async () => {
    const digits = mnistSamples(40);
    const detector = await featureSqueezing(model, { calibrateOn: mnistSamples(300).inputs });
    const epsilon = 0.15;
    const run = await attackDetector(detector, digits.inputs, Int32Array.from(digits.labels), { epsilon, steps: 20, seed: 3 });
    const evading = run.misclassified.map((m, i) => m && !run.flagged[i]);
    expect(evading.some(Boolean)).toBe(true);
    const check = await detector.detect(run.adversarials);
    const predicted = (tf.argMax(model.predict(run.adversarials) as tf.Tensor, 1).arraySync() as number[]);
    const distance = tf.max(tf.abs(tf.sub(run.adversarials, digits.inputs)).reshape([40, -1]), 1).arraySync() as number[];
    evading.forEach((e, i) => {
      expect(distance[i]).toBeLessThanOrEqual(epsilon + 1e-6);
      expect(run.flagged[i]).toBe(check.flags[i]);
      expect(run.misclassified[i]).toBe(predicted[i] !== digits.labels[i]);
      if (e) expect(check.flags[i]).toBe(false);
    });
    // Against the same budget, the adaptive attack leaves no more detected adversarials than plain PGD does.
    const plain = await pgd().run(model, digits, { epsilon, seed: 3 });
    const plainCheck = await detector.detect(plain.adversarials);
    const plainEvading = plain.success.filter((s, i) => s && !plainCheck.flags[i]).length;
    expect(evading.filter(Boolean).length).toBeGreaterThanOrEqual(plainEvading);
    tf.dispose([digits.inputs, run.adversarials, plain.adversarials]);
  });

  it('leaves tf.memory().numTensors unchanged', async () => {
    const digits = mnistSamples(20);
    const before = tf.memory().numTensors;
    const detector = await featureSqueezing(model, { squeezers: [squeezers.bitDepth(4), squeezers.median(3)], calibrateOn: digits });
    await detector.detect(digits.inputs);
    await detector.detect(digits.inputs.arraySync() as number[][][][]);
    const run = await attackDetector(detector, digits.inputs, Int32Array.from(digits.labels), { epsilon: 0.1, steps: 3, seed: 1 });
    run.adversarials.dispose();
    await featureSqueezing(model, { calibrateOn: [] }).catch(() => undefined);
    expect(tf.memory().numTensors).toBe(before);
    expect(digits.inputs.isDisposed).toBe(false);
    digits.inputs.dispose();
  });

  it('rejects bad options with typed errors', async () => {
    const digits = mnistSamples(10);
    await expect(featureSqueezing(model, {} as never)).rejects.toThrow(/needs clean inputs to calibrate[\s\S]*Expected: \{ calibrateOn/);
    await expect(featureSqueezing(model, { calibrateOn: digits, falsePositiveRate: 0 })).rejects.toThrow(/`falsePositiveRate` must be a finite number in \(0, 1\)[\s\S]*Received: 0/);
    await expect(featureSqueezing(model, { calibrateOn: digits, squeezers: [] })).rejects.toThrow(/non-empty array of squeezers/);
    await expect(featureSqueezing(model, { calibrateOn: digits, threshold: 1 } as never)).rejects.toThrow(RobustestError);
    await expect(featureSqueezing(model, { calibrateOn: tf.zeros([3, 5]) })).rejects.toThrow(RobustestError);
    digits.inputs.dispose();
  });
});
