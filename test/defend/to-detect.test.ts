import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import '../../matchers/vitest.js';
import { ensureBackend, featureSqueezing, fgsm, pgd, squeezers, type FeatureSqueezingDetector } from '../../src/index.js';
import { measureDetection } from '../../src/defend/index.js';
import { loadMnistModel, mnistSamples, type MnistSamples } from '../../examples/mnist/models.js';

async function failure(assertion: Promise<void>): Promise<string> {
  try {
    await assertion;
  } catch (error) {
    return (error as Error).message.replace(/\u001b\[[0-9;]*m/g, '');
  }
  throw new Error('the assertion passed');
}

describe('toDetect', () => {
  let model: tf.LayersModel;
  let detector: FeatureSqueezingDetector;
  let on: MnistSamples;

  beforeAll(async () => {
    await ensureBackend();
    model = await loadMnistModel('mlp');
    const calibration = mnistSamples(300);
    detector = await featureSqueezing(model, { squeezers: [squeezers.bitDepth(1), squeezers.median(2)], calibrateOn: calibration });
    calibration.inputs.dispose();
    on = mnistSamples(30);
  });
  afterAll(() => {
    on.inputs.dispose();
    model.dispose();
  });

  it('judges on the adaptive rate and prints both rates; the matcher agrees with measureDetection', async () => {
    const report = await measureDetection(detector, pgd(), on, { epsilon: 0.1, seed: 0, adaptive: true });
    const adaptiveRate = report.adaptive!.rate!;
    const nonAdaptiveRate = report.nonAdaptive.rate!;
    expect(adaptiveRate).toBeLessThanOrEqual(nonAdaptiveRate);
    const message = await failure(expect(detector).toDetect(pgd(), 0.1, { on, atLeast: Math.min(1, adaptiveRate + 0.01) }));
    expect(message).toContain(`Received detection rate:   ${Number(adaptiveRate.toFixed(3))} (adaptive attack)`);
    expect(message).toContain(`Non-adaptive  ${nonAdaptiveRate.toFixed(3)} (${report.nonAdaptive.detected} of ${report.nonAdaptive.successful} successful adversarials flagged)`);
    expect(message).toMatch(/Adaptive {6}\d\.\d{3} \(\d+ of \d+ successful adversarials flagged\); L∞ PGD on classifier and detector together \(BPDA through the squeezers\), 50 steps/);
    if (adaptiveRate < nonAdaptiveRate) expect(message).toContain('The adaptive attack removes detection');
    expect(message).toContain('Seed 0');
    await expect(detector).toDetect(pgd(), 0.1, { on, atLeast: adaptiveRate });
  });

  it('never inverts pass for .not, and writes the message for it', async () => {
    const report = await measureDetection(detector, fgsm(), on, { epsilon: 0.1, seed: 0, adaptive: true });
    const rate = report.adaptive!.rate!;
    await expect(detector).not.toDetect(fgsm(), 0.1, { on, atLeast: Math.min(1, rate + 0.05) });
    const message = await failure(expect(detector).not.toDetect(fgsm(), 0.1, { on, atLeast: rate }));
    expect(message).toContain('Expected detection rate: <');
  });

  it('without the adaptive attack, says that the rate was not tested adaptively', async () => {
    const report = await measureDetection(detector, pgd(), on, { epsilon: 0.1, seed: 0, adaptive: false });
    expect(report.adaptive).toBeNull();
    const message = await failure(expect(detector).not.toDetect(pgd(), 0.1, { on, atLeast: report.nonAdaptive.rate!, adaptive: false }));
    expect(message).toContain('(non-adaptive attack only)');
    expect(message).toContain('Not tested against an adaptive attack');
    expect(message).not.toMatch(/^ {2}Adaptive/m);
  });

  it('throws on bad arguments instead of judging', async () => {
    await expect(expect(model).toDetect(pgd(), 0.1, { on })).rejects.toThrow(/must receive a detector/);
    await expect(expect(detector).toDetect(pgd(), 0, { on })).rejects.toThrow(/ε must be a finite number > 0/);
    await expect(expect(detector).toDetect(pgd(), 0.1, {} as never)).rejects.toThrow(/which samples to attack/);
    await expect(expect(detector).toDetect(pgd(), 0.1, { on, adaptiv: true } as never)).rejects.toThrow(/unknown option `adaptiv`/);
    await expect(expect(detector).toDetect(pgd({ norm: 'l2' }), 0.5, { on })).rejects.toThrow(/adaptive attack on a detector runs in L∞/);
  });
});
