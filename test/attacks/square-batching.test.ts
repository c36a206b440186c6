/**
 * Square asks the model once per iteration, with every sample still under attack in that one
 * batch: the number of model calls it makes is its longest sample's query count, and the rows
 * it sends add up to the queries it reports.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifier, square } from '../../src/index.js';
import { correctDigits, twin } from '../blackbox/helpers.js';

let digits: { inputs: tf.Tensor4D; labels: number[] };
const calls: number[] = [];
/** The fixture CNN as a plain function that records the rows of every call. */
const counted = (x: tf.Tensor) => {
  calls.push(x.shape[0]!);
  return twin().predict(x) as tf.Tensor;
};

beforeAll(() => {
  digits = correctDigits(twin(), 10);
});
afterAll(() => digits.inputs.dispose());

describe('square: one model call per iteration', () => {
  it.each([
    ['linf', 0.1],
    ['l2', 1.5],
  ] as const)('%s: calls = the longest query count, rows = the queries reported', async (norm, epsilon) => {
    const clf = classifier(counted, { outputs: 'logits' });
    // What the runner spends around any attack (its clean pass, its re-check): Square with ε = 0
    // asks nothing. The first run also carries the classifier's one-time look at its outputs.
    for (let warm = 0; warm < 2; warm++) {
      calls.length = 0;
      (await square({ norm, queries: 80 }).run(clf, digits, { epsilon: 0, seed: 1 })).adversarials.dispose();
    }
    const aroundCalls = calls.length;
    const aroundRows = calls.reduce((a, b) => a + b, 0);

    calls.length = 0;
    const run = await square({ norm, queries: 80 }).run(clf, digits, { epsilon, seed: 1 });
    run.adversarials.dispose();
    // Each sample's count is the clean prediction, its own queries, and the re-check.
    const own = run.queries.map((q) => q - 2);
    expect(run.success.some((s) => s) && run.success.some((s) => !s)).toBe(true);
    expect(calls.length - aroundCalls).toBe(Math.max(...own));
    expect(calls.reduce((a, b) => a + b, 0) - aroundRows).toBe(own.reduce((a, b) => a + b, 0));
    // The batches shrink as samples break, never grow (the runner's re-check is the last call).
    const attackCalls = calls.slice(aroundCalls - 1, -1);
    expect(attackCalls[0]).toBe(digits.labels.length);
    for (let k = 1; k < attackCalls.length; k++) expect(attackCalls[k]).toBeLessThanOrEqual(attackCalls[k - 1]!);
  });
});
