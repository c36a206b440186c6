/**
 * toBeCertifiedRobust and toHaveCertifiedRadius through Vitest's own expect: verdicts against
 * certify() and certifySmoothed(), both messages (with .not the pass flag is the same), the
 * uncertified samples listed with their margin bound and whether an attack falsified them.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import '../../matchers/vitest.js';
import { certify, classifier, smoothed } from '../../src/index.js';
import { robustestMatchers } from '../../matchers/index.js';
import type { MatcherContext, MatcherResult } from '../../matchers/context.js';
import { Rng } from '../../src/engine/random.js';
import { linearFunction } from '../support/models.js';
import { denseRelu } from './networks.js';

function samplesFor(model: tf.LayersModel, count: number, seed: number, wrong: number[] = []) {
  const rng = new Rng(seed);
  const inputs = Array.from({ length: count }, () => Array.from({ length: 10 }, () => rng.uniform(0.1, 0.9)));
  const predicted = tf.tidy(() => Array.from(tf.argMax(model.predict(tf.tensor2d(inputs)) as tf.Tensor, 1).dataSync()));
  return { inputs, labels: predicted.map((p, i) => (wrong.includes(i) ? (p + 1) % 4 : p)) };
}

const context = (isNot: boolean): MatcherContext => ({
  isNot,
  promise: '',
  utils: { matcherHint: (name) => `expect(model).${name}(…)`, printExpected: (v) => String(v), printReceived: (v) => String(v) },
});

async function run(name: string, isNot: boolean, ...args: unknown[]): Promise<MatcherResult> {
  const matcher = robustestMatchers[name]! as unknown as (this: MatcherContext, ...a: unknown[]) => Promise<MatcherResult>;
  return matcher.call(context(isNot), ...args);
}

describe('certificate matchers', () => {
  const model = denseRelu(41, [10, 24, 24, 4]);
  const samples = samplesFor(model, 10, 3, [4]);

  it('toBeCertifiedRobust passes exactly when certified accuracy reaches atLeast', async () => {
    const report = await certify(model, samples, { epsilons: [0.01] });
    const accuracy = report.certifiedAccuracy[0]!;
    expect(accuracy).toBeGreaterThan(0);
    expect(accuracy).toBeLessThan(1);
    await expect(model).toBeCertifiedRobust(0.01, { on: samples, atLeast: accuracy });
    await expect(model).not.toBeCertifiedRobust(0.01, { on: samples, atLeast: accuracy + 0.05 });
    await expect(expect(model).toBeCertifiedRobust(0.01, { on: samples, atLeast: 1 })).rejects.toThrow(/certified accuracy/);
  });

  it('writes both messages, listing uncertified samples, their margin bound and the attack verdict', async () => {
    const failing = await run('toBeCertifiedRobust', false, model, 0.05, { on: samples, atLeast: 1 });
    const passingNot = await run('toBeCertifiedRobust', true, model, 0.05, { on: samples, atLeast: 1 });
    expect(failing.pass).toBe(false);
    expect(passingNot.pass).toBe(false);
    const text = failing.message();
    expect(text).toContain('Expected certified accuracy: ≥ 1');
    expect(text).toMatch(/Not certified \(\d+\):/);
    expect(text).toContain('#4  class');
    expect(text).toMatch(/misclassified as \d/);
    expect(text).toMatch(/best margin bound -?\d/);
    expect(text).toMatch(/falsified by PGD|not falsified either \(unknown\)/);
    expect(text).toMatch(/between \d\.\d{3} \(certified\) and \d\.\d{3} \(not falsified by PGD/);
    expect(passingNot.message()).toContain('Expected certified accuracy: < 1');
    // The failure ends with the fix path: certified training at the ε that failed.
    expect(text.trimEnd().split('\n').slice(-2)).toEqual([
      'Fix path: certified training with interval bounds (a tfjs LayersModel, in place), then rerun this test:',
      "  await adversarialTraining(model, trainingData, { method: 'ibp', epsilon: 0.05 });",
    ]);
    expect(passingNot.message()).not.toContain('Fix path');
    // The reporter table reads this record.
    expect(failing.meta?.robustest?.record).toMatchObject({ matcher: 'toBeCertifiedRobust', epsilon: 0.05, measure: 'certified', passed: false });
    expect(passingNot.meta?.robustest?.record.passed).toBe(true);
  });

  it('passes timeBudget to certify and says when the budget ran out', async () => {
    const unbudgeted = await certify(model, samples, { epsilons: [0.05], method: 'ibp' });
    const exhausted = await run('toBeCertifiedRobust', false, model, 0.05, { on: samples, atLeast: 0, timeBudget: 0 });
    const ibpOnly = await certify(model, samples, { epsilons: [0.05], method: 'auto', timeBudget: 0 });
    expect(ibpOnly.certifiedAccuracy).toEqual(unbudgeted.certifiedAccuracy);
    // IBP leaves correct samples uncertified at this ε, so stronger methods were wanted.
    expect(unbudgeted.certifiedAccuracy[0]!).toBeLessThan(unbudgeted.cleanAccuracy);
    expect(ibpOnly.budget.exhausted).toBe(true);
    expect(exhausted.message()).toMatch(/the 0 s time budget ran out before the stronger methods were tried everywhere \(raise timeBudget\)/);
    const ample = await run('toBeCertifiedRobust', false, model, 0.05, { on: samples, atLeast: 0 });
    expect(ample.message()).not.toMatch(/time budget ran out/);
    await expect(run('toBeCertifiedRobust', false, model, 0.05, { on: samples, timeBudget: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('toHaveCertifiedRadius certifies a smoothed linear classifier and lists what falls short', async () => {
    const clf = classifier(linearFunction([[0, 0.6], [0, -0.8]], [0, 0.05]), { outputs: 'logits' });
    const smooth = smoothed(clf, { sigma: 0.25 });
    const on = { inputs: [[0.9, 0.1], [0.1, 0.9], [0.5, 0.45]], labels: [1, 0, 1] };
    // Distances to the hyperplane: 0.51, 0.51, 0.01.
    await expect(smooth).toHaveCertifiedRadius(0.3, { on, atLeast: 2 / 3, n: 2000, alpha: 0.001 });
    const result = await run('toHaveCertifiedRadius', false, smooth, 0.3, { on, atLeast: 1, n: 2000 });
    expect(result.pass).toBe(false);
    expect(result.message()).toMatch(/#2  class 1  (abstained|predicted \d  radius)/);
    await expect(run('toHaveCertifiedRadius', false, clf, 0.3, { on })).rejects.toMatchObject({ code: 'INVALID_MODEL' });
  });
});
