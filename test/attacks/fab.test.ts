/**
 * FAB on linear models, where the minimal adversarial distance is known in closed form
 * (|w·x + b| / ‖w‖ in the dual norm): untargeted and targeted, in L2, L∞ and L1, FAB must land
 * within 1 percent of it on every sample, never below it, and leave no tensor behind.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { classifier, ensureBackend, fab, RobustestError } from '../../src/index.js';
import { linearFixture, minimalDistance, recheck } from './helpers.js';

beforeAll(async () => {
  await ensureBackend();
});

const BOUNDS: [number, number] = [0, 1];

describe.each([
  ['binary', linearFixture(11, 2, 12, 30)],
  ['ten-class', linearFixture(23, 10, 16, 30)],
])('%s linear model', (_, f) => {
  test.each([
    ['l2', false],
    ['linf', false],
    ['l1', false],
    ['l2', true],
    ['linf', true],
    ['l1', true],
  ] as const)('%s, targeted %s: within 1 percent of the exact minimal distance', async (norm, targeted) => {
    const clf = classifier(f.model.fn, { bounds: BOUNDS });
    const before = tf.memory().numTensors;
    const run = await fab({ norm, targeted, steps: 100 }).run(clf, { inputs: f.inputs, labels: f.labels }, { seed: 1 });
    const found = await recheck(f.model.fn, run, { inputs: f.inputs, labels: f.labels, bounds: BOUNDS, norm });
    run.adversarials.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const correct = f.xs.map((x, i) => minimalDistance(f.model, x, f.labels[i]!, norm) > 0);
    found.forEach((d, i) => {
      if (!correct[i]) return;
      const exact = minimalDistance(f.model, f.xs[i]!, f.labels[i]!, norm);
      expect(run.success[i], `sample ${i}`).toBe(true);
      expect(d).toBeGreaterThanOrEqual(exact * (1 - 1e-4));
      expect(d, `sample ${i}: exact ${exact}`).toBeLessThanOrEqual(exact * 1.01);
    });
  });
});

test('with ε it reports success only within ε, and the same seed gives the same result', async () => {
  const f = linearFixture(11, 2, 12, 30);
  const exact = f.xs.map((x, i) => minimalDistance(f.model, x, f.labels[i]!, 'l2'));
  const epsilon = [...exact].sort((a, b) => a - b)[15]! * 1.02;
  const attack = fab({ norm: 'l2', restarts: 2 });
  const runs = [];
  for (let k = 0; k < 2; k++) {
    const run = await attack.run(f.model.fn, { inputs: f.inputs, labels: f.labels }, { epsilon, seed: 9 });
    runs.push({ success: run.success, distances: run.distances, data: Array.from(await run.adversarials.data()) });
    run.adversarials.dispose();
  }
  expect(runs[0]).toEqual(runs[1]);
  runs[0]!.success.forEach((s, i) => expect(s).toBe(exact[i]! <= epsilon));
});

test.each([
  ['targets of FAB-T', { targeted: true, targetClasses: 1 }, { targeted: true, targetClasses: 9 }],
  ['restarts of FAB', { restarts: 1 }, { restarts: 4 }],
] as const)('the %s step in one model call and keep what running them one after another keeps', async (_, one, many) => {
  const f = linearFixture(23, 10, 16, 30);
  const samples = { inputs: f.inputs, labels: f.labels };
  // Few steps: the passes are far from converged, so a later one often has a closer adversarial.
  const runnerUp = fab({ norm: 'l2', steps: 4, ...one });
  const all = fab({ norm: 'l2', steps: 4, ...many });
  const free = [await runnerUp.run(f.model.fn, samples, { seed: 3 }), await all.run(f.model.fn, samples, { seed: 3 })];
  // Without ε every target runs to the end and the closest adversarial over them is kept.
  free[1]!.distances.forEach((d, i) => expect(d).toBeLessThanOrEqual(free[0]!.distances[i]!));
  // With ε a sample the runner-up breaks within it is done there: later targets must not replace it.
  const epsilon = [...free[0]!.distances].sort((a, b) => a - b)[20]!;
  const capped = [await runnerUp.run(f.model.fn, samples, { seed: 3, epsilon }), await all.run(f.model.fn, samples, { seed: 3, epsilon })];
  const data = await Promise.all(capped.map(async (r) => (await r.adversarials.array()) as number[][]));
  let settledFirst = 0;
  capped[0]!.success.forEach((s, i) => {
    if (!s) return;
    settledFirst++;
    expect(capped[1]!.success[i]).toBe(true);
    expect(data[1]![i]).toEqual(data[0]![i]);
  });
  expect(settledFirst).toBeGreaterThan(5);
  expect(capped[1]!.success.filter(Boolean).length).toBeGreaterThanOrEqual(settledFirst);
  tf.dispose([...free, ...capped].map((r) => r.adversarials));
});

test('bad options are typed errors naming what was expected', () => {
  expect(() => fab({ norm: 'l0' as never })).toThrow(RobustestError);
  expect(() => fab({ steps: 0 })).toThrow(/steps/);
  expect(() => fab({ eta: 0.5 })).toThrow(/eta/);
  expect(() => fab({ criterion: { kind: 'top-k', k: 2 } })).toThrow(/top-k/);
});
