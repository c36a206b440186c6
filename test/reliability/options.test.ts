/** Options that used to be accepted silently: misspelt names, an empty ε list, ε in pixel units. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { classifier, evaluate, fgsm, pgd } from '../../src/index.js';
import { tinyDenseModel } from '../support/models.js';

const samples = { inputs: [[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5]], labels: [0, 1] };
const clf = classifier(tinyDenseModel());

describe('options are checked, not ignored', () => {
  it('unknown options to evaluate() and attack.run() are errors that name them', async () => {
    await expect(evaluate(clf, samples, { attack: fgsm(), epsilons: [0.1], seeed: 3 } as never)).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringContaining('`seeed`'),
    });
    await expect(fgsm().run(clf, samples, { epsilon: 0.1, seeed: 3 } as never)).rejects.toMatchObject({
      code: 'INVALID_OPTION',
      message: expect.stringContaining('`seeed`'),
    });
  });

  it('an empty epsilons list is rejected', async () => {
    await expect(evaluate(clf, samples, { attack: fgsm(), epsilons: [] })).rejects.toMatchObject({ code: 'INVALID_EPSILON', message: expect.stringContaining('empty') });
  });

  it('an L∞ ε wider than the bounds is rejected with the pixel-unit hint', async () => {
    await expect(evaluate(clf, samples, { attack: pgd(), epsilons: [8] })).rejects.toMatchObject({ code: 'INVALID_EPSILON', message: expect.stringContaining('8/255') });
    await expect(fgsm().run(clf, samples, { epsilon: 8 })).rejects.toMatchObject({ code: 'INVALID_EPSILON' });
    // In L2 a budget above the width is a real budget.
    await expect(fgsm({ norm: 'l2' }).run(clf, samples, { epsilon: 1.5 }).then((r) => r.adversarials.dispose())).resolves.toBeUndefined();
    // On wider bounds the same number is fine.
    const wide = classifier(tinyDenseModel(), { bounds: [0, 255] });
    await expect(evaluate(wide, { inputs: [[10, 20, 30, 40]], labels: [0] }, { attack: fgsm(), epsilons: [8] })).resolves.toMatchObject({ count: 1 });
  });
});

describe('samples', () => {
  it('a flat Float32Array is not part of the Samples type, and at run time the error says how to give it a shape', async () => {
    // @ts-expect-error: a flat typed array carries no shape
    const flat: Parameters<typeof evaluate>[1] = { inputs: new Float32Array(8), labels: [0, 1] };
    await expect(evaluate(clf, flat, { attack: fgsm(), epsilons: [0.1] })).rejects.toMatchObject({ code: 'INVALID_SHAPE', message: expect.stringContaining('tf.tensor(data, [N, ...inputShape])') });
  });

  it('a bool label tensor is rejected', async () => {
    const labels = tf.tensor1d([true, false] as unknown as number[], 'bool');
    await expect(evaluate(clf, { inputs: samples.inputs, labels }, { attack: fgsm(), epsilons: [0.1] })).rejects.toMatchObject({ code: 'INVALID_LABELS', message: expect.stringContaining('bool') });
    labels.dispose();
  });
});
