/**
 * autoAttack(): the ensemble is at least as strong as each member alone with the same seed (it
 * runs the same members with the same per-sample randomness, each on what is left), it is
 * deterministic, each member only attacks samples still robust, evaluate nests ε, and no tensor
 * is left behind.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { apgd, autoAttack, evaluate, fab, RobustestError, square, type Attack, type AutoAttackRun } from '../../src/index.js';
import { trainMnistMlp, type MnistFixture } from './mnist-fixture.js';
import { linearFixture } from './helpers.js';
import { attackLoss } from '../../src/attacks/losses.js';
import { logitGradientOf } from '../../src/engine/tfjs/closed-form.js';

let mnist: MnistFixture;
const EPSILON = 0.08;
// Reduced budgets keep the test quick; the benchmark runs the reference's.
const BUDGET = { steps: 25, queries: 300 } as const;

beforeAll(async () => {
  mnist = await trainMnistMlp(24);
}, 120_000);

async function robustAccuracy(attack: Attack): Promise<{ accuracy: number; success: boolean[]; run: AutoAttackRun | null }> {
  const run = await attack.run(mnist.model, { inputs: mnist.inputs, labels: mnist.labels }, { epsilon: EPSILON, seed: 5 });
  run.adversarials.dispose();
  return { accuracy: run.success.filter((s) => !s).length / run.success.length, success: run.success, run: 'members' in run ? (run as AutoAttackRun) : null };
}

describe('standard version on an MNIST MLP', () => {
  test('never reports a higher robust accuracy than any member alone with the same seed', async () => {
    const before = tf.memory().numTensors;
    const ensemble = await robustAccuracy(autoAttack(BUDGET));
    expect(tf.memory().numTensors).toBe(before);
    const alone: Record<string, Attack> = {
      'APGD-CE (apgd())': apgd({ steps: BUDGET.steps }),
      'APGD-T': autoAttack({ ...BUDGET, version: 'custom', attacks: ['apgd-t'] }),
      'FAB-T (fab({ targeted: true }))': fab({ targeted: true, steps: BUDGET.steps }),
      Square: square({ queries: BUDGET.queries, p_init: 0.8 }),
    };
    let strongest = 1;
    for (const [name, attack] of Object.entries(alone)) {
      const member = await robustAccuracy(attack);
      strongest = Math.min(strongest, member.accuracy);
      expect(ensemble.accuracy, name).toBeLessThanOrEqual(member.accuracy);
      // Sample by sample: whatever the member breaks alone, the ensemble breaks too.
      member.success.forEach((s, i) => s && expect(ensemble.success[i], `${name}, sample ${i}`).toBe(true));
    }
    expect(ensemble.accuracy).toBeLessThan(1);
    expect(ensemble.accuracy).toBeLessThanOrEqual(strongest);
    expect(tf.memory().numTensors).toBe(before);
  }, 300_000);

  test('each member attacks only the samples the ones before it left robust; same seed, same run', async () => {
    const first = (await robustAccuracy(autoAttack(BUDGET))).run!;
    const again = (await robustAccuracy(autoAttack(BUDGET))).run!;
    expect(again.success).toEqual(first.success);
    expect(again.distances).toEqual(first.distances);
    expect(first.members.map((m) => m.member)).toEqual(['apgd-ce', 'apgd-t', 'fab-t', 'square']);
    let left = mnist.labels.length;
    for (const m of first.members) {
      expect(m.attacked).toBe(left);
      left -= m.broken;
    }
    expect(left).toBe(first.success.filter((s) => !s).length);
    first.distances.forEach((d, i) => first.success[i] && expect(d).toBeLessThanOrEqual(EPSILON + 1e-6));
    expect(first.reliability).toEqual([]);
  }, 300_000);

  test('in evaluate: a curve that never rises, each ε attacking only the survivors of the one below', async () => {
    const before = tf.memory().numTensors;
    const report = await evaluate(mnist.model, { inputs: mnist.inputs, labels: mnist.labels }, { attack: autoAttack(BUDGET), epsilons: [0.03, 0.08], seed: 5 });
    expect(tf.memory().numTensors).toBe(before);
    expect(report.robustAccuracy[1]!).toBeLessThanOrEqual(report.robustAccuracy[0]!);
    expect(report.reliability).toEqual([]);
    const single = await robustAccuracy(autoAttack(BUDGET));
    // Nesting only removes samples already broken at a smaller ε, so ε = 0.08 is decided as in one run.
    expect(report.robustAccuracy[1]).toBeLessThanOrEqual(single.accuracy);
  }, 300_000);
});

test("APGD's restarts step in one model call and keep what running them one after another keeps", async () => {
  const samples = { inputs: mnist.inputs, labels: mnist.labels };
  const runs = [];
  for (const restarts of [1, 3]) {
    const run = await apgd({ steps: 10, restarts }).run(mnist.model, samples, { epsilon: EPSILON, seed: 5 });
    runs.push({ success: run.success, data: (await run.adversarials.array()) as number[][][][] });
    run.adversarials.dispose();
  }
  const [one, three] = runs as [(typeof runs)[0], (typeof runs)[0]];
  let broken = 0;
  one.success.forEach((s, i) => {
    if (!s) return;
    broken++;
    // A sample the first restart breaks never sees the later ones: the same adversarial.
    expect(three.success[i]).toBe(true);
    expect(three.data[i]).toEqual(one.data[i]);
  });
  expect(broken).toBeGreaterThan(5);
  expect(three.success.filter(Boolean).length).toBeGreaterThanOrEqual(broken);
});

test('options are checked where the attack is written', () => {
  expect(() => autoAttack({ norm: 'l1' as never })).toThrow(/L1/);
  expect(() => autoAttack({ version: 'fast' as never })).toThrow(RobustestError);
  expect(() => autoAttack({ version: 'custom' })).toThrow(/members/);
  expect(() => autoAttack({ attacks: ['square'] })).toThrow(/custom/);
  expect(autoAttack().describe()).toBe('AutoAttack (L∞, standard: APGD-CE, APGD-T, FAB-T, SQUARE)');
  expect(autoAttack({ norm: 'l2', version: 'plus' }).describe()).toContain('APGD-CE, APGD-DLR, FAB, SQUARE, APGD-T, FAB-T');
});

test("'plus' runs its six members in the reference's order, and breaks what 'standard' breaks on a linear model", async () => {
  const f = linearFixture(23, 10, 16, 30);
  const on = { inputs: f.inputs, labels: f.labels };
  const before = tf.memory().numTensors;
  const plus = (await autoAttack({ version: 'plus', steps: 10, queries: 100 }).run(f.model.fn, on, { epsilon: 0.02, seed: 1 })) as AutoAttackRun;
  const standard = (await autoAttack({ steps: 10, queries: 100 }).run(f.model.fn, on, { epsilon: 0.02, seed: 1 })) as AutoAttackRun;
  tf.dispose([plus.adversarials, standard.adversarials]);
  expect(tf.memory().numTensors).toBe(before);
  expect(plus.members.map((m) => m.member)).toEqual(['apgd-ce', 'apgd-dlr', 'fab', 'square', 'apgd-t', 'fab-t']);
  expect(plus.members[0]!.attack).toContain('5 restarts');
  // On a linear model APGD-CE already finds the nearest boundary, so the versions agree.
  expect(plus.success).toEqual(standard.success);
  expect(plus.success.some(Boolean) && !plus.success.every(Boolean)).toBe(true);
});

describe("APGD's DLR head in closed form", () => {
  // Rows with a clear winner, ties among the others, and a misclassified row.
  const rows = [
    [2.5, -1, 0.3, 0.3, 1.7, -4, 0.3, 0.9, -0.2, 1.1],
    [0.1, 0.1, 0.1, 3, 0.1, -2, 0.4, 0.1, 0.7, 0.1],
    [1.2, 5.5, -0.7, 2.25, 0.5, 0.75, -3.1, 4.9, 0.2, 1e-3],
    ...Array.from({ length: 12 }, (_, i) => Array.from({ length: 10 }, (_, j) => Math.sin(7.3 * i + 3.1 * j) * (1 + i))),
  ];
  const labels = Int32Array.from(rows, (r, i) => (i === 2 ? 3 : r.indexOf(Math.max(...r))));
  const targets = Int32Array.from(rows, (_, i) => (labels[i]! + 1 + (i % 9)) % 10);
  const plain = (t: tf.Tensor) => Array.from(t.dataSync(), (v) => (v === 0 ? 0 : v));

  test.each([
    ['targeted DLR', targets, 1],
    ['DLR', null, 1],
    ['DLR against the 2nd best other class', null, 2],
  ] as const)('%s: the same values and logit gradient as tf.grad on the tensor version, bit for bit', (_, t, k) => {
    const logits = tf.tensor2d(rows);
    const loss = attackLoss('dlr', labels, t, { k });
    const closedForm = logitGradientOf(loss)!;
    const before = tf.memory().numTensors;
    const head = closedForm(logits as tf.Tensor2D);
    const gradient = tf.grad((z: tf.Tensor) => tf.sum(loss(z as tf.Tensor2D)))(logits);
    const values = loss(logits as tf.Tensor2D);
    expect(plain(head.loss)).toEqual(plain(values));
    expect(plain(head.gradient)).toEqual(plain(gradient));
    expect(plain(head.gradient).some((v) => v !== 0)).toBe(true);
    tf.dispose([head.loss, head.gradient, gradient, values]);
    expect(tf.memory().numTensors).toBe(before);
    logits.dispose();
  });
});
