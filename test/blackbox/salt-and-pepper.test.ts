/**
 * Salt-and-pepper as an L0 minimization: on binary linear models the fewest values that must
 * go to a bound is known exactly (take the values whose move to the helpful bound gains the
 * most margin, largest first), so the attack can be held to it; the repair phase only ever
 * lowers the count; only bounds are written, whole pixels at a time; seeds reproduce; no leaks.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, test } from 'vitest';
import { classifier, ensureBackend, RobustestError, saltAndPepper } from '../../src/index.js';
import { fixtureRandom, linear } from '../attacks/helpers.js';

beforeAll(async () => {
  await ensureBackend();
});

const FEATURES = 12;

function binaryFixture(seed: number) {
  const r = fixtureRandom(seed);
  const W = [Array.from({ length: FEATURES }, () => 0), Array.from({ length: FEATURES }, () => (r() * 2 - 1) * 3)];
  const xs = Array.from({ length: 40 }, () => Array.from({ length: FEATURES }, () => r()));
  const b = [0, -W[1]!.reduce((s, w, i) => s + w * 0.5, 0)];
  const model = linear(W, b);
  const labels = xs.map((x) => (W[1]!.reduce((s, w, i) => s + w * x[i]!, b[1]!) > 0 ? 1 : 0));
  // Exact minimum: the margin to cross, and each value's best gain at a bound, largest first.
  const minimum = xs.map((x, n) => {
    const margin = Math.abs(W[1]!.reduce((s, w, i) => s + w * x[i]!, b[1]!));
    const sign = labels[n] === 1 ? -1 : 1;
    const gains = W[1]!.map((w, i) => Math.max(sign * w * (0 - x[i]!), sign * w * (1 - x[i]!))).sort((a, c) => c - a);
    let total = 0;
    for (let k = 0; k < gains.length; k++) {
      total += gains[k]!;
      if (total > margin) return k + 1;
    }
    return Infinity;
  });
  return { model, inputs: tf.tensor2d(xs), labels, minimum };
}

test('reaches the exact minimal number of changed values on binary linear models', async () => {
  for (const seed of [1, 2]) {
    const f = binaryFixture(seed);
    const clf = classifier(f.model.fn, { bounds: [0, 1] });
    const before = tf.memory().numTensors;
    const run = await saltAndPepper({ steps: 300, repairs: 100 }).run(clf, { inputs: f.inputs, labels: f.labels }, { seed: 3 });
    run.adversarials.dispose();
    expect(tf.memory().numTensors).toBe(before);
    let exact = 0;
    f.minimum.forEach((m, i) => {
      if (m === Infinity) return expect(run.success[i]).toBe(false);
      expect(run.success[i], `sample ${i}`).toBe(true);
      expect(run.distances[i]).toBeGreaterThanOrEqual(m);
      if (run.distances[i] === m) exact++;
    });
    // Random patterns with repair find the optimum on nearly every sample.
    expect(exact / f.minimum.filter(Number.isFinite).length).toBeGreaterThanOrEqual(0.9);
    f.inputs.dispose();
  }
});

test('the repair phase never adds a changed value, only bounds are written, and seeds reproduce', async () => {
  const r = fixtureRandom(9);
  const images = Array.from({ length: 6 * 8 * 8 * 3 }, () => r());
  const inputs = tf.tensor4d(images, [6, 8, 8, 3]);
  const W = Array.from({ length: 4 }, () => Array.from({ length: 8 * 8 * 3 }, () => r() * 2 - 1));
  const model = linear(W, [0, 0, 0, 0]);
  const labels = tf.tidy(() => tf.argMax(model.fn(inputs), 1).arraySync() as number[]);
  const searchOnly = await saltAndPepper({ steps: 200, repairs: 0 }).run(model.fn, { inputs, labels }, { seed: 5 });
  const repaired = await saltAndPepper({ steps: 200, repairs: 150 }).run(model.fn, { inputs, labels }, { seed: 5 });
  const again = await saltAndPepper({ steps: 200, repairs: 150 }).run(model.fn, { inputs, labels }, { seed: 5 });
  const adv = await repaired.adversarials.data();
  const clean = await inputs.data();
  expect(Array.from(await again.adversarials.data())).toEqual(Array.from(adv));
  repaired.distances.forEach((d, i) => expect(d).toBeLessThanOrEqual(searchOnly.distances[i]!));
  expect(repaired.distances.reduce((a, b) => a + b, 0)).toBeLessThan(searchOnly.distances.reduce((a, b) => a + b, 0));
  for (let p = 0; p < adv.length / 3; p++) {
    const moved = [0, 1, 2].some((c) => adv[p * 3 + c] !== clean[p * 3 + c]);
    if (!moved) continue;
    const v = adv[p * 3]!;
    expect([0, 1]).toContain(v);
    expect([adv[p * 3 + 1], adv[p * 3 + 2]]).toEqual([v, v]);
  }
  repaired.parameters!.forEach((q, i) => expect(q === null).toBe(!repaired.success[i]));
  tf.dispose([inputs, searchOnly.adversarials, repaired.adversarials, again.adversarials]);
});

test('options are checked', () => {
  expect(() => saltAndPepper({ steps: 0 })).toThrow(RobustestError);
  expect(() => saltAndPepper({ repairs: -1 })).toThrow(/repairs/);
  expect(() => saltAndPepper({ maxSeverity: 1 } as never)).toThrow(/unknown option/);
});
