/**
 * The bundled MLP (784-100-10) as a robustness test suite would treat it: what it withstands,
 * and where it breaks. Each assertion states the model's measured robustness.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifier, deepfool, evaluate, fgsm, perturbations, pgd, type Classifier } from 'robustest';
import { loadMnistModel, mnistSamples } from './models.js';

const digits = mnistSamples(200);
let mlp: Classifier;

beforeAll(async () => {
  mlp = classifier(await loadMnistModel('mlp'), { name: 'MNIST MLP' });
});
afterAll(() => digits.inputs.dispose());

describe('MNIST MLP', () => {
  it('classifies clean digits (ε = 0 is clean accuracy)', async () => {
    await expect(mlp).toBeRobustAgainst(fgsm(), 0, { on: digits, atLeast: 0.9 });
  });

  it('keeps most of its accuracy under a small L∞ budget', async () => {
    await expect(mlp).toBeRobustAgainst(pgd(), 0.02, { on: digits, atLeast: 0.8 });
  });

  it('is not robust at ε = 0.1: PGD breaks almost every digit', async () => {
    await expect(mlp).not.toBeRobustAgainst(pgd(), 0.1, { on: digits, atLeast: 0.2 });
  });

  it('has a robustness curve that does not regress', async () => {
    const report = await evaluate(mlp, digits, { attack: pgd(), epsilons: [0.01, 0.02, 0.05, 0.1], seed: 0 });
    expect(report).toHaveRobustAccuracy({ atLeast: 0.35, at: 0.05 });
    expect(report).not.toBeRobust({ at: 0.1 });
    await expect(report).toMatchRobustnessSnapshot({ tolerance: 0.02 });
  });

  it('needs an L2 perturbation of about 0.8 to be fooled (DeepFool, minimal)', async () => {
    const report = await evaluate(mlp, digits, { attack: deepfool(), epsilons: [0.25, 0.5, 1, 2] });
    expect(report).toHaveRobustAccuracy({ atLeast: 0.6, at: 0.25 });
    expect(report).not.toBeRobust({ at: 2 });
  });

  it('shrugs off mild Gaussian noise', async () => {
    await expect(mlp).toBeRobustUnder(perturbations.gaussianNoise(0.05), { on: digits, numRuns: 50, atLeast: 0.95 });
  });
});
