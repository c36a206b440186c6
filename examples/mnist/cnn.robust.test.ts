/**
 * The bundled CNN (conv 8 → pool → conv 16 → pool → dense 64 → 10): stronger than the MLP, and
 * still not robust at large budgets. Each assertion states the model's measured robustness.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apgd, classifier, evaluate, fgsm, pgd, transforms, type Classifier } from 'robustest';
import { loadMnistModel, mnistSamples } from './models.js';

const digits = mnistSamples(200);
let cnn: Classifier;

beforeAll(async () => {
  cnn = classifier(await loadMnistModel('cnn'), { name: 'MNIST CNN' });
});
afterAll(() => digits.inputs.dispose());

describe('MNIST CNN', () => {
  it('classifies clean digits', async () => {
    await expect(cnn).toBeRobustAgainst(fgsm(), 0, { on: digits, atLeast: 0.95 });
  });

  it('keeps at least 80% accuracy under L∞ PGD at ε = 0.05', async () => {
    await expect(cnn).toBeRobustAgainst(pgd(), 0.05, { on: digits, atLeast: 0.8 });
  });

  it('is not robust at ε = 0.2: PGD breaks nearly every digit', async () => {
    await expect(cnn).not.toBeRobustAgainst(pgd(), 0.2, { on: digits, atLeast: 0.1 });
  });

  it('has a robustness curve that does not regress (worst case of PGD and Auto-PGD)', async () => {
    const report = await evaluate(cnn, digits, { attacks: [pgd(), apgd({ loss: 'dlr' })], epsilons: [0.02, 0.05, 0.1, 0.2], seed: 0 });
    expect(report).toHaveRobustAccuracy({ atLeast: 0.4, at: 0.1 });
    await expect(report).toMatchRobustnessSnapshot({ tolerance: 0.02 });
  });

  it('does not change its mind when a digit moves by one pixel', async () => {
    await expect(cnn).toBeInvariantUnder(transforms.translate(1), { on: digits, atLeast: 0.97 });
  });
});
