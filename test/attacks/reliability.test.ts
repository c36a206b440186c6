/**
 * AutoAttack's reliability flags: each fires on a model built to trigger it and stays silent on
 * the bundled MNIST models; a flag is a warning and never changes the verdict.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import { apgd, autoAttack, ensureBackend, evaluate, square, type AutoAttackRun, type ReliabilityKind } from '../../src/index.js';
import { loadMnistModel, mnistSamples, MNIST_MODEL_NAMES } from '../../examples/mnist/models.js';
import { reliabilityLines, singleAttackNote } from '../../src/attacks/reliability.js';
import { fixtureRandom, linear } from './helpers.js';
import '../../matchers/vitest.js';

beforeAll(async () => {
  await ensureBackend();
});

const FEATURES = 16;

/** A random linear model over `classes` classes and points in the middle of the box, labelled by `fn` itself. */
function fixture(classes: number, wrap: (logits: (x: tf.Tensor) => tf.Tensor) => (x: tf.Tensor) => tf.Tensor, seed = 3) {
  const r = fixtureRandom(seed);
  const W = Array.from({ length: classes }, () => Array.from({ length: FEATURES }, () => (r() * 2 - 1) * 4));
  const b = W.map((w) => -0.5 * w.reduce((s, v) => s + v, 0));
  const base = linear(W, b);
  const fn = wrap(base.fn);
  const xs = Array.from({ length: 30 }, () => Array.from({ length: FEATURES }, () => 0.3 + 0.4 * r()));
  const inputs = tf.tensor2d(xs);
  // Labels from the noise-free logits, so every sample starts correctly classified.
  const labels = tf.tidy(() => tf.argMax(base.fn(inputs), 1).arraySync() as number[]);
  return { fn, inputs, labels };
}

async function flags(f: ReturnType<typeof fixture>, attack = autoAttack({ version: 'custom', attacks: ['apgd-ce'], steps: 10 }), epsilon = 0.05) {
  const before = tf.memory().numTensors;
  const run = (await attack.run(f.fn, { inputs: f.inputs, labels: f.labels }, { epsilon, seed: 2 })) as AutoAttackRun;
  run.adversarials.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return { kinds: run.reliability.map((r) => r.kind).sort() as ReliabilityKind[], run };
}

describe('each flag fires on a model built to trigger it', () => {
  test('probability outputs', async () => {
    const { kinds } = await flags(fixture(10, (z) => (x) => tf.tidy(() => tf.softmax(z(x)))));
    expect(kinds).toEqual(['probability-outputs']);
  });

  test('a randomized model, unless the rand version (expectation over transformation) is used', async () => {
    const noisy = fixture(10, (z) => (x) => tf.tidy(() => tf.add(z(x), tf.randomNormal([x.shape[0], 10], 0, 0.3))));
    expect((await flags(noisy)).kinds).toEqual(['randomized']);
    const rand = await flags(noisy, autoAttack({ version: 'rand', steps: 5, eotDraws: 3 }));
    expect(rand.kinds).toEqual([]);
    expect(rand.run.members.map((m) => m.member)).toEqual(['apgd-ce', 'apgd-dlr']);
  });

  test('zero gradients, and Square breaking what the gradient members could not', async () => {
    // Quantised inputs: the gradient is zero everywhere, the decision still moves.
    const stepped = fixture(10, (z) => (x) => tf.tidy(() => z(tf.div(tf.round(tf.mul(x, 10)), 10))));
    const { kinds, run } = await flags(stepped, autoAttack({ steps: 10, queries: 500 }), 0.03);
    expect(kinds).toEqual(['black-box-stronger', 'zero-gradients']);
    const squareBroke = run.members.find((m) => m.member === 'square')!.broken;
    expect(squareBroke).toBeGreaterThan(0);
    expect(run.reliability.find((r) => r.kind === 'black-box-stronger')!.samples).toBe(squareBroke);
    // Every correctly classified sample has a zero gradient.
    expect(run.reliability.find((r) => r.kind === 'zero-gradients')!.samples).toBe(run.members[0]!.attacked);
  });

  test('too few classes for the targeted members', async () => {
    const { kinds, run } = await flags(fixture(3, (z) => z), autoAttack({ steps: 5, queries: 50 }));
    expect(kinds).toEqual(['too-few-classes']);
    // APGD-T cannot run on 3 classes (targeted DLR needs 4); FAB-T uses the 2 classes there are.
    expect(run.members.map((m) => m.member)).toEqual(['apgd-ce', 'fab-t', 'square']);
    expect(run.reliability[0]!.message).toMatch(/APGD-T was skipped.*FAB-T could use only 2 of its 9/);
  });

  test('flags never change the verdict: a flagged run breaks exactly what the same members break without the checks', async () => {
    const probabilities = fixture(10, (z) => (x) => tf.tidy(() => tf.softmax(z(x))));
    const epsilon = 0.01;
    const flagged = await flags(probabilities, autoAttack({ version: 'custom', attacks: ['apgd-ce', 'square'], steps: 10, queries: 200 }), epsilon);
    expect(flagged.kinds).toContain('probability-outputs');
    const direct = await apgd({ steps: 10 }).run(probabilities.fn, { inputs: probabilities.inputs, labels: probabilities.labels }, { epsilon, seed: 2 });
    direct.adversarials.dispose();
    const rest = direct.success.flatMap((s, i) => (s ? [] : [i]));
    expect(rest.length).toBeGreaterThan(0);
    const restInputs = tf.gather(probabilities.inputs, rest);
    const sq = await square({ queries: 200 }).run(probabilities.fn, { inputs: restInputs, labels: rest.map((i) => probabilities.labels[i]!) }, { epsilon, seed: 2, sampleIds: rest });
    tf.dispose([sq.adversarials, restInputs]);
    const expected = direct.success.slice();
    rest.forEach((i, k) => (expected[i] = sq.success[k]!));
    expect(flagged.run.success).toEqual(expected);
  });
});

describe.each(MNIST_MODEL_NAMES)('bundled %s', (name) => {
  // The bundled models output softmax probabilities from a Dense layer, which robustest peels
  // to its logits, so no probability flag is expected.
  test('raises no flag under the standard version with its full budgets', async () => {
    const model = await loadMnistModel(name);
    const digits = mnistSamples(12);
    const before = tf.memory().numTensors;
    const report = await evaluate(model, digits, { attack: autoAttack(), epsilons: [0.05], seed: 1 });
    expect(tf.memory().numTensors).toBe(before);
    expect(report.reliability).toEqual([]);
    expect(report.robustAccuracy[0]).toBeLessThan(report.cleanAccuracy);
    tf.dispose([digits.inputs]);
    model.dispose();
  }, 300_000);
});

test('message lines: one per flag, and the single-attack note only for a lone gradient attack that left samples robust', () => {
  expect(reliabilityLines([])).toEqual([]);
  const lines = reliabilityLines([{ kind: 'zero-gradients', samples: 3, message: '3 of 10 samples have a zero loss gradient.' }]);
  expect(lines).toEqual(['Reliability warnings (the verdict may be too optimistic):', '  zero-gradients: 3 of 10 samples have a zero loss gradient.']);
  expect(singleAttackNote(apgd(), 0.5)).toMatch(/APGD alone gives an upper bound.*autoAttack\(\) is the standard/);
  expect(singleAttackNote(apgd(), 0)).toBeNull();
  expect(singleAttackNote(autoAttack(), 0.5)).toBeNull();
  expect(singleAttackNote(square(), 0.5)).toBeNull();
});

test('toBeRobustAgainst prints the flags, and the single-attack note when one gradient attack decided', async () => {
  // `.not` with atLeast 0 always fails, so the message can be read whatever the attack breaks.
  const message = async (assertion: Promise<unknown>) => {
    try {
      await assertion;
    } catch (error) {
      return (error as Error).message.replace(/\u001b\[[0-9;]*m/g, '');
    }
    throw new Error('the assertion passed');
  };
  const probabilities = fixture(10, (z) => (x) => tf.tidy(() => tf.softmax(z(x))));
  const on = { inputs: probabilities.inputs, labels: probabilities.labels };
  const flagged = await message(expect(probabilities.fn).not.toBeRobustAgainst(autoAttack({ version: 'custom', attacks: ['apgd-ce'], steps: 5 }), 0.01, { on, atLeast: 0 }));
  expect(flagged).toContain('Reliability warnings (the verdict may be too optimistic):');
  expect(flagged).toContain('probability-outputs: the model outputs probabilities');
  expect(flagged).not.toContain('alone gives an upper bound');
  const single = await message(expect(probabilities.fn).not.toBeRobustAgainst(apgd({ steps: 5 }), 0.01, { on, atLeast: 0 }));
  expect(single).toContain('Note: APGD alone gives an upper bound on robust accuracy');
  expect(single).not.toContain('Reliability warnings');
});
