/** Long calls take an AbortSignal: they reject with ABORTED, free what they made, and leave the next call unharmed. */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { checkInvariance, classifier, ensureBackend, evaluate, fuzz, perturbations, pgd, transforms } from '../../src/index.js';
import { tinyDenseModel } from '../support/models.js';

const samples = { inputs: [[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5], [0.9, 0.1, 0.9, 0.1]], labels: [0, 1, 2] };

/** A function model that aborts `controller` on its n-th call. */
function abortingAfter(calls: number, controller: AbortController) {
  const model = tinyDenseModel();
  let seen = 0;
  return classifier((x: tf.Tensor) => {
    if (++seen === calls) controller.abort(new Error('stopped by the test'));
    return model.predict(x) as tf.Tensor;
  });
}

describe('cancellation', () => {
  it('evaluate and attack.run stop mid-run with ABORTED and leak nothing; the next call still works', async () => {
    await ensureBackend();
    const controller = new AbortController();
    const second = new AbortController();
    const clf = abortingAfter(5, controller);
    const other = abortingAfter(3, second);
    const plain = classifier(tinyDenseModel());
    const before = tf.memory().numTensors;
    const attack = pgd({ steps: 50 });
    await expect(evaluate(clf, samples, { attack, epsilons: [0.1, 0.2], signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED', message: expect.stringContaining('stopped by the test') });
    expect(tf.memory().numTensors).toBe(before);

    await expect(attack.run(other, samples, { epsilon: 0.1, signal: second.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(tf.memory().numTensors).toBe(before);

    const report = await evaluate(plain, samples, { attack, epsilons: [0.1] });
    expect(report.count).toBe(3);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('an already aborted signal stops the run before any work', async () => {
    const controller = new AbortController();
    controller.abort();
    let calls = 0;
    const model = tinyDenseModel();
    const counting = classifier((x: tf.Tensor) => (calls++, model.predict(x) as tf.Tensor));
    await expect(evaluate(counting, samples, { attack: pgd(), epsilons: [0.1], signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(calls).toBe(0);
  });

  it('fuzz and checkInvariance take a signal too', async () => {
    const controller = new AbortController();
    const clf = abortingAfter(2, controller);
    const plain = classifier(tinyDenseModel());
    const before = tf.memory().numTensors;
    await expect(fuzz(clf, perturbations.linf(0.1), { on: samples, numRuns: 50, signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    const other = new AbortController();
    other.abort();
    await expect(checkInvariance(plain, transforms.brightness(0.1), { on: samples, signal: other.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(tf.memory().numTensors).toBe(before);
    await expect(fuzz(clf, perturbations.linf(0.1), { on: samples, signal: 'soon' as never })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });
});
