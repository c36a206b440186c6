/**
 * The fix path for a failing robustness test, on the bundled MNIST models. The plain MLP fails
 * an L∞ budget that mlp-at (the same architecture after adversarialTraining at ε = 0.2, see
 * train.ts) passes; a feature-squeezing detector on the CNN catches every plain PGD adversarial
 * but loses part of that once the attacker also targets the detector. Each figure is as measured
 * (seed 0, wasm backend).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { apgd, classifier, featureSqueezing, pgd, squeezers, type Classifier, type FeatureSqueezingDetector } from 'robustest';
import { loadMnistModel, mnistSamples } from './models.js';

/** mlp-at, read from models/mlp-at/ (written by `npm run example:train`). */
async function loadHardened(): Promise<tf.LayersModel> {
  const directory = new URL('./models/mlp-at/', import.meta.url);
  const json = JSON.parse(readFileSync(new URL('model.json', directory), 'utf8')) as tf.io.ModelJSON;
  const bytes = readFileSync(new URL('weights.bin', directory));
  const weightData = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest.flatMap((g) => g.weights), weightData }));
}

describe('adversarial training: MNIST MLP before and after', () => {
  const digits = mnistSamples(200);
  let plain: Classifier;
  let hardened: Classifier;

  beforeAll(async () => {
    plain = classifier(await loadMnistModel('mlp'), { name: 'MNIST MLP' });
    hardened = classifier(await loadHardened(), { name: 'MNIST MLP, adversarially trained' });
  });
  afterAll(() => digits.inputs.dispose());

  // APGD-CE at ε = 0.1 on these 200 digits: robust accuracy 0.04 (plain), 0.79 (mlp-at).
  it('the plain MLP fails ε = 0.1 under APGD', async () => {
    await expect(plain).not.toBeRobustAgainst(apgd(), 0.1, { on: digits, atLeast: 0.7 });
  });

  it('the adversarially trained MLP passes the same budget', async () => {
    await expect(hardened).toBeRobustAgainst(apgd(), 0.1, { on: digits, atLeast: 0.7 });
  });
});

describe('feature squeezing on the MNIST CNN', () => {
  const on = mnistSamples(100);
  const pool = mnistSamples(600).inputs;
  let detector: FeatureSqueezingDetector;
  let model: tf.LayersModel;

  beforeAll(async () => {
    model = await loadMnistModel('cnn');
    // Calibrated at 5% false positives on digits 100–599, disjoint from the 100 attacked.
    const calibrateOn = pool.slice(100, 500);
    detector = await featureSqueezing(model, { squeezers: [squeezers.bitDepth(1), squeezers.median(2)], falsePositiveRate: 0.05, calibrateOn });
    calibrateOn.dispose();
  });
  afterAll(() => {
    tf.dispose([on.inputs, pool]);
    model.dispose();
  });

  it('flags every adversarial of plain PGD at ε = 0.1 (43 of 43)', async () => {
    await expect(detector).toDetect(pgd(), 0.1, { on, atLeast: 1, adaptive: false });
  });

  it('flags 37 of 43 once the attack also drives the squeeze score down (BPDA, adaptive)', async () => {
    await expect(detector).toDetect(pgd(), 0.1, { on, atLeast: 0.86 });
    await expect(detector).not.toDetect(pgd(), 0.1, { on, atLeast: 0.87 });
  });
});
