import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import '../matchers/vitest.js';
import { classifier, evaluate, fgsm, RobustestError, type RobustnessReport } from '../src/index.js';
import { configureRobustest, failOnUnawaited, registerMatchers, resetRobustest, robustestDefaults, robustestMatchers } from '../matchers/index.js';
import type { AssertionRecord } from '../src/report/table.js';
import { defineAttack } from '../src/attacks/runner.js';
import { ShardPool } from '../src/engine/shards/pool.js';
import { analyticConfidence, analyticRobust, stripes, stripesLayers, stripeSamples } from './fixtures/projects/stripes-model.js';

const strip = (text: string): string => text.replace(/\u001b\[[0-9;]*m/g, '');
let pictures: string;
const normalize = (text: string): string => strip(text).split(pictures).join('<pictures>');

/** The message of an assertion that must fail. */
async function failure(assertion: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof assertion === 'function' ? assertion() : assertion);
  } catch (error) {
    return normalize((error as Error).message);
  }
  throw new Error('the assertion passed, and it should have failed');
}

const on = stripeSamples();

beforeAll(() => {
  pictures = mkdtempSync(join(tmpdir(), 'robustest-pictures-'));
  configureRobustest({ pictureDir: pictures });
});
afterAll(() => {
  resetRobustest();
  rmSync(pictures, { recursive: true, force: true });
});

describe('toBeRobustAgainst', () => {
  test.each([0, 0.1, 0.2])('robust accuracy at ε = %s is the analytic one, and atLeast is a sharp threshold', async (epsilon) => {
    const expected = analyticRobust(epsilon) / on.labels.length;
    expect(expected).toBeGreaterThan(0);
    await expect(stripes).toBeRobustAgainst(fgsm(), epsilon, { on, atLeast: expected });
    const message = await failure(expect(stripes).toBeRobustAgainst(fgsm(), epsilon, { on, atLeast: expected + 0.05 }));
    expect(message).toContain(`Received robust accuracy:   ${expected}`);
  });

  test('fails fast once atLeast cannot be met, and says the figure is an upper bound', async () => {
    const full = await failure(expect(stripes).toBeRobustAgainst(fgsm(), 0.2, { on, atLeast: 0.9 }));
    expect(full).not.toContain('Stopped early');
    const fast = await failure(expect(stripes).toBeRobustAgainst(fgsm(), 0.2, { on, atLeast: 0.9, batchSize: 2 }));
    expect(fast).toMatch(/Stopped early: the requirement could no longer be met, so \d+ samples? (was|were) not attacked; the robust accuracy above is an upper bound\./);
    const bound = Number(/Received robust accuracy:\s+([\d.]+)/.exec(fast)![1]);
    expect(bound).toBeGreaterThan(analyticRobust(0.2) / on.labels.length);
    expect(bound).toBeLessThan(0.9);
  });

  test('workers (per call or configured) runs the attack on threads with the same verdict', async () => {
    const dense = stripesLayers();
    const open = vi.spyOn(ShardPool, 'open');
    try {
      const alone = await failure(expect(dense).toBeRobustAgainst(fgsm(), 0.2, { on, atLeast: 0.9 }));
      expect(open).not.toHaveBeenCalled();
      const threaded = await failure(expect(dense).toBeRobustAgainst(fgsm(), 0.2, { on, atLeast: 0.9, workers: 2 }));
      expect(open).toHaveBeenCalledTimes(1);
      expect(open.mock.calls[0]![1]).toBe(2);
      configureRobustest({ workers: 2 });
      const configured = await failure(expect(dense).toBeRobustAgainst(fgsm(), 0.2, { on, atLeast: 0.9 }));
      expect(open).toHaveBeenCalledTimes(2);
      // Shards run the tfjs engine, a call on the main thread may run onnxruntime: the replay
      // line names the executor that ran, everything else must be the same.
      const withoutPicture = (m: string) => m.replace(/Picture: .*/, '').replace(', onnxruntime executor)', ')');
      expect(withoutPicture(threaded)).toBe(withoutPicture(alone));
      expect(withoutPicture(configured)).toBe(withoutPicture(alone));
    } finally {
      configureRobustest({ workers: 1 });
      open.mockRestore();
      dense.dispose();
    }
  });

  test('the failure message names the attack, ε, accuracies, counterexamples, seed and picture', async () => {
    const message = await failure(expect(stripes).toBeRobustAgainst(fgsm(), 0.1, { on, atLeast: 0.9 }));
    expect(message).toMatchInlineSnapshot(`
      "expect(model).toBeRobustAgainst(attack, ε, options)

      Expected robust accuracy: ≥ 0.9
      Received robust accuracy:   0.4

        Attack           FGSM (L∞, 1 step)
        ε                0.1 (L∞)
        Model            stripes
        Clean accuracy   0.800 (8 of 10 samples)
        Robust accuracy  0.400 (4 of 10 samples)
        Broken           4 of the 8 correctly classified samples; 2 misclassified before the attack

      Counterexamples (3 of 4):
        sample 0: class 0 → 1 (confidence 0.881); L∞ 0.100, L2 0.800, L0 64
        sample 3: class 0 → 1 (confidence 0.953); L∞ 0.100, L2 0.800, L0 64
        sample 4: class 1 → 0 (confidence 0.881); L∞ 0.100, L2 0.800, L0 64
        … and 1 more

      Seed 0 (backend wasm): replay it with { seed: 0 } in the options of toBeRobustAgainst (or configureRobustest({ seed: 0 })).

      Picture: <pictures>/matchers.test.ts/toberobustagainst-the-failure-message-names-the-attack-eps-accuracies-counterexamples-seed-and-p--fgsm-0.1-1de62c64.png

      Fix path: train against this attack (a tfjs LayersModel, in place), then rerun this test:
        await adversarialTraining(model, trainingData, { method: 'pgd', attack: fgsm(), epsilon: 0.1 });"
    `);
  });

  test('counterexample sizes and confidences match an independent computation', async () => {
    const message = await failure(expect(stripes).toBeRobustAgainst(fgsm(), 0.1, { on, atLeast: 1 }));
    // Every pixel moves by exactly ε = 0.1: L∞ = 0.1, L2 = √(64 · 0.01) = 0.8, L0 = 64.
    expect(message).toContain(`class 0 → 1 (confidence ${analyticConfidence(0.1, 0.1).toFixed(3)}); L∞ 0.100, L2 0.800, L0 64`);
    expect(message).toContain(`sample 3: class 0 → 1 (confidence ${analyticConfidence(0.05, 0.1).toFixed(3)})`);
  });

  test('.not passes on a fragile model and fails, with its own message, on a robust one', async () => {
    await expect(stripes).not.toBeRobustAgainst(fgsm(), 0.1, { on, atLeast: 0.9 });
    const message = await failure(expect(stripes).not.toBeRobustAgainst(fgsm(), 0.1, { on, atLeast: 0.3 }));
    expect(message.split('\n').slice(0, 4).join('\n')).toMatchInlineSnapshot(`
      "expect(model).not.toBeRobustAgainst(attack, ε, options)

      Expected robust accuracy: < 0.3
      Received robust accuracy:   0.4"
    `);
    expect(message).toContain('Broken           4 of the 8 correctly classified samples');
  });

  test('ε = 0 reduces to clean accuracy', async () => {
    const report = await evaluate(stripes, on, { attack: fgsm(), epsilons: [0] });
    expect(report.robustAccuracy[0]).toBe(report.cleanAccuracy);
    await expect(stripes).toBeRobustAgainst(fgsm(), 0, { on, atLeast: report.cleanAccuracy });
    const message = await failure(expect(stripes).toBeRobustAgainst(fgsm(), 0, { on, atLeast: 0.85 }));
    expect(message).toContain('Received robust accuracy:   0.8');
    expect(message).toContain('Broken           none of the 8 correctly classified samples; 2 misclassified before the attack');
    expect(message).not.toContain('Counterexamples');
    expect(message).not.toContain('Picture');
  });

  test('a plain function, a LayersModel and a Classifier get the same verdict', async () => {
    const dense = stripesLayers();
    for (const model of [stripes, dense, classifier(stripes, { name: 'wrapped' })]) {
      await expect(model).toBeRobustAgainst(fgsm(), 0.1, { on, atLeast: 0.4 });
      await expect(model).not.toBeRobustAgainst(fgsm(), 0.1, { on, atLeast: 0.5 });
    }
    dense.dispose();
  });

  const badArguments: [string, () => Promise<unknown>, string][] = [
    ['a factory instead of an attack', () => (expect(stripes).toBeRobustAgainst as (...a: unknown[]) => Promise<void>)(fgsm, 0.1, { on }), 'call the factory: fgsm()'],
    ['a string instead of an attack', () => (expect(stripes).toBeRobustAgainst as (...a: unknown[]) => Promise<void>)('fgsm', 0.1, { on }), 'Received: "fgsm"'],
    ['no ε for a fixed-ε attack', () => expect(stripes).toBeRobustAgainst(fgsm(), { on }), 'FGSM is a fixed-ε attack and needs an ε'],
    ['a negative ε', () => expect(stripes).toBeRobustAgainst(fgsm(), -0.1, { on }), 'Received: -0.1'],
    ['NaN for ε', () => expect(stripes).toBeRobustAgainst(fgsm(), Number.NaN, { on }), 'Received: NaN'],
    ['no options', () => (expect(stripes).toBeRobustAgainst as (...a: unknown[]) => Promise<void>)(fgsm(), 0.1), 'the options must say which samples to attack'],
    ['no samples', () => (expect(stripes).toBeRobustAgainst as (...a: unknown[]) => Promise<void>)(fgsm(), 0.1, { atLeast: 0.5 }), '`on` (the samples to attack) is required'],
    ['a misspelt option', () => (expect(stripes).toBeRobustAgainst as (...a: unknown[]) => Promise<void>)(fgsm(), 0.1, { on, atleast: 0.5 }), 'unknown option `atleast`'],
    ['atLeast above 1', () => expect(stripes).toBeRobustAgainst(fgsm(), 0.1, { on, atLeast: 90 }), 'Received: 90'],
    ['a fractional seed', () => expect(stripes).toBeRobustAgainst(fgsm(), 0.1, { on, seed: 1.5 }), 'seed must be an integer'],
    ['a thread count of "many"', () => expect(stripes).toBeRobustAgainst(fgsm(), 0.1, { on, workers: 'many' as never }), 'Received: "many"'],
    ['labels of the wrong count', () => expect(stripes).toBeRobustAgainst(fgsm(), 0.1, { on: { inputs: on.inputs, labels: [0, 1] } }), 'Received: 2 labels'],
    ['something that is not a model', () => expect({ predict: 1 }).toBeRobustAgainst(fgsm(), 0.1, { on }), 'classifier() cannot wrap this model'],
  ];
  test.each(badArguments)('refuses %s with a clear error, with and without .not', async (_, call, fragment) => {
    const before = tf.memory().numTensors;
    const error = await call().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RobustestError);
    expect(strip((error as Error).message)).toContain(fragment);
    expect(strip((error as Error).message)).toMatch(/Expected: .+\n\s+Received: .+/);
    expect(tf.memory().numTensors).toBe(before);
  });

  test('a bad argument under .not is an error too, never a pass', async () => {
    await expect(expect(stripes).not.toBeRobustAgainst(fgsm(), -1, { on })).rejects.toThrow(RobustestError);
    await expect((expect(stripes).not.toBeRobustAgainst as (...a: unknown[]) => Promise<void>)(fgsm(), 0.1, {})).rejects.toThrow('`on` (the samples to attack) is required');
  });

  test('leaves tf.memory().numTensors unchanged, passing or failing, with tensor samples', async () => {
    const inputs = tf.tensor4d(on.inputs.flat(3), [10, 8, 8, 1]);
    const labels = tf.tensor1d(on.labels, 'int32');
    const before = tf.memory().numTensors;
    await expect(stripes).toBeRobustAgainst(fgsm(), 0.1, { on: { inputs, labels }, atLeast: 0.4 });
    expect(tf.memory().numTensors).toBe(before);
    await failure(expect(stripes).toBeRobustAgainst(fgsm(), 0.1, { on: { inputs, labels }, atLeast: 0.9 }));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([inputs, labels]);
  });

  test('suite-wide defaults apply and each call overrides them', async () => {
    expect(robustestDefaults().atLeast).toBe(1);
    await failure(expect(stripes).toBeRobustAgainst(fgsm(), 0.1, { on }));
    configureRobustest({ atLeast: 0.4, seed: 7 });
    try {
      await expect(stripes).toBeRobustAgainst(fgsm(), 0.1, { on });
      const message = await failure(expect(stripes).toBeRobustAgainst(fgsm(), 0.1, { on, atLeast: 0.5, seed: 3 }));
      expect(message).toContain('Seed 3 (backend wasm): replay it with { seed: 3 }');
      const defaulted = await failure(expect(stripes).not.toBeRobustAgainst(fgsm(), 0.1, { on }));
      expect(defaulted).toContain('Expected robust accuracy: < 0.4');
      expect(defaulted).toContain('Seed 7');
    } finally {
      configureRobustest({ atLeast: 1, seed: 0 });
    }
  });

  test('configureRobustest refuses unknown keys and bad values', () => {
    expect(() => configureRobustest({ atleast: 0.5 } as never)).toThrow('unknown option `atleast`');
    expect(() => configureRobustest({ atLeast: 1.5 })).toThrow('Received: 1.5');
    expect(() => configureRobustest({ seed: -0.5 })).toThrow('seed must be an integer');
    expect(() => configureRobustest({ batchSize: 0 })).toThrow('batchSize must be a positive integer');
    expect(() => configureRobustest({ workers: 0 })).toThrow("configureRobustest(): workers is a thread count.");
    expect(() => configureRobustest({ pictureDir: '' })).toThrow('pictureDir must be a non-empty path');
    expect(robustestDefaults().atLeast).toBe(1);
  });

  test('records each assertion on the Vitest task and annotates failing ones', async ({ task }) => {
    await expect(stripes).toBeRobustAgainst(fgsm(), 0.1, { on, atLeast: 0.4 });
    await failure(expect(stripes).toBeRobustAgainst(fgsm(), 0.2, { on, atLeast: 0.4 }));
    const records = (task.meta as { robustest?: AssertionRecord[] }).robustest!;
    expect(records.map((r) => [r.epsilon, r.robustAccuracy, r.required, r.passed])).toEqual([
      [0.1, 0.4, '≥ 0.400', true],
      [0.2, 0.2, '≥ 0.400', false],
    ]);
    expect(records[1]!.picture).toMatch(/\.png$/);
    const annotations = (task as unknown as { annotations?: { message: string; type: string }[] }).annotations ?? [];
    expect(annotations.map((a) => [a.type, a.message])).toEqual([['robustest', 'FGSM (L∞, 1 step) at ε = 0.2: robust accuracy 0.200, required ≥ 0.400']]);
  });
});

/**
 * A minimization attack for the stripes model: it moves both halves towards each other by just
 * enough to cross the boundary (δ = contrast/2 + 0.01 in L∞), and gives up when that exceeds 0.2.
 */
const crossing = defineAttack({
  name: 'Crossing',
  norm: 'linf',
  kind: 'minimization',
  requiresGradients: false,
  options: {},
  describe: () => 'Crossing (L∞, exact)',
  async perturb(ctx) {
    const x = await ctx.x.data();
    const out = Float32Array.from(x);
    ctx.labels.forEach((label, i) => {
      const left = x[i * 64]!;
      const right = x[i * 64 + 7]!;
      const side = label === 0 ? 1 : -1;
      const delta = (side * (left - right)) / 2 + 0.01;
      if (delta > 0.2) return;
      for (let p = 0; p < 64; p++) out[i * 64 + p] += p % 8 < 4 ? -side * delta : side * delta;
    });
    return tf.tensor(out, ctx.x.shape);
  },
});

describe('toBeRobustAgainst with a minimization attack', () => {
  test('without ε, a sample is robust only if the attack found no adversarial at all', async () => {
    // Contrast 0.5 needs δ = 0.26 > 0.2: only those two samples survive.
    await expect(stripes).toBeRobustAgainst(crossing, { on, atLeast: 0.2 });
    const message = await failure(expect(stripes).toBeRobustAgainst(crossing, { on, atLeast: 0.3 }));
    expect(message.split('\n').slice(0, 4).join('\n')).toBe(
      ['expect(model).toBeRobustAgainst(attack, options)', '', 'Expected robust accuracy: ≥ 0.3', 'Received robust accuracy:   0.2'].join('\n'),
    );
    expect(message).toContain('ε                none: any L∞ perturbation counts');
    expect(message).toContain('sample 0: class 0 → 1 (confidence 0.599); L∞ 0.060, L2 0.480, L0 64');
  });

  test('with ε, only adversarials within ε count', async () => {
    // δ = contrast/2 + 0.01 ≤ 0.1 for contrasts 0.1 and 0.05: the same four samples FGSM breaks.
    await expect(stripes).toBeRobustAgainst(crossing, 0.1, { on, atLeast: 0.4 });
    await expect(stripes).not.toBeRobustAgainst(crossing, 0.1, { on, atLeast: 0.41 });
  });
});

describe('report matchers', () => {
  let report: RobustnessReport;
  beforeAll(async () => {
    report = await evaluate(stripes, on, { attack: fgsm(), epsilons: [0, 0.1, 0.2], seed: 5 });
    expect(report.robustAccuracy).toEqual([0.8, 0.4, 0.2]);
  });

  test('toHaveRobustAccuracy checks the accuracy at one ε of the report', async () => {
    expect(report).toHaveRobustAccuracy({ atLeast: 0.4, at: 0.1 });
    expect(report).toHaveRobustAccuracy({ atLeast: 0.8, at: 0 });
    expect(report).not.toHaveRobustAccuracy({ atLeast: 0.3, at: 0.2 });
    const message = await failure(() => expect(report).toHaveRobustAccuracy({ atLeast: 0.5, at: 0.1 }));
    expect(message).toMatchInlineSnapshot(`
      "expect(report).toHaveRobustAccuracy({ atLeast, at })

      Expected robust accuracy: ≥ 0.5
      Received robust accuracy:   0.4

        Attack           FGSM (L∞, 1 step)
        ε                0.1 (L∞)
        Model            stripes
        Clean accuracy   0.800 (8 of 10 samples)
        Robust accuracy  0.400 (4 of 10 samples)
        Broken           4 of the 8 correctly classified samples; 2 misclassified before the attack

      Counterexamples (3 of 4):
        sample 0: class 0 → 1 (confidence 0.881); L∞ 0.100
        sample 3: class 0 → 1 (confidence 0.953); L∞ 0.100
        sample 4: class 1 → 0 (confidence 0.881); L∞ 0.100
        … and 1 more

      Seed 5 (backend wasm): evaluate(model, samples, { …, seed: 5 }) reproduces this report."
    `);
    const negated = await failure(() => expect(report).not.toHaveRobustAccuracy({ atLeast: 0.4, at: 0.1 }));
    expect(negated).toContain('Expected robust accuracy: < 0.4');
  });

  test('toBeRobust asks for the configured atLeast (1 by default)', async () => {
    const message = await failure(() => expect(report).toBeRobust({ at: 0 }));
    expect(message).toContain('Expected robust accuracy: ≥ 1');
    expect(message).toContain('Received robust accuracy:   0.8');
    expect(report).not.toBeRobust({ at: 0.1 });
    configureRobustest({ atLeast: 0.8 });
    try {
      expect(report).toBeRobust({ at: 0 });
      expect(report).not.toBeRobust({ at: 0.1 });
    } finally {
      configureRobustest({ atLeast: 1 });
    }
  });

  test('refuses an ε the report did not measure, a missing `at`, and things that are not reports', async () => {
    expect(() => expect(report).toHaveRobustAccuracy({ atLeast: 0.5, at: 0.15 })).toThrow(/must be one of the ε the report measured[\s\S]*Expected: one of 0, 0.1, 0.2[\s\S]*Received: 0.15/);
    expect(() => expect(report).toBeRobust()).toThrow('the report measures several ε; say which with `at`');
    expect(() => expect(report).not.toBeRobust({ at: 0.15 })).toThrow(RobustestError);
    expect(() => (expect(report).toHaveRobustAccuracy as (o?: unknown) => void)({ at: 0.1 })).toThrow('`atLeast` is required');
    expect(() => expect({ robustAccuracy: [1] }).toBeRobust()).toThrow('toBeRobust({ at }) checks a RobustnessReport');
    expect(() => expect(Promise.resolve(report)).toBeRobust()).toThrow('a Promise (await evaluate(…) first)');
  });

  test('a report with one ε needs no `at`', async () => {
    const single = await evaluate(stripes, on, { attack: fgsm(), epsilons: [0.2] });
    expect(single).toHaveRobustAccuracy({ atLeast: 0.2 });
    expect(single).not.toBeRobust();
  });
});

describe('registration', () => {
  afterEach(() => failOnUnawaited());

  test('an un-awaited robustness assertion fails the test it was left in', async () => {
    const running = expect(stripes).toBeRobustAgainst(fgsm(), 0.1, { on, atLeast: 0.4 });
    expect(() => failOnUnawaited()).toThrow(
      'expect(…).toBeRobustAgainst() was still running when the test ended: robustness matchers are async and must be awaited',
    );
    await running;
    expect(() => failOnUnawaited()).not.toThrow();
  });

  test('a test only answers for its own assertions, so concurrent tests do not blame each other', async () => {
    let release: (() => void) | undefined;
    const slow = () => new Promise<{ pass: boolean; message: () => string }>((resolve) => (release = () => resolve({ pass: true, message: () => '' })));
    let wrapped: Record<string, (this: unknown, received: unknown) => Promise<unknown>> = {};
    const hooks: ((context?: unknown) => void)[] = [];
    registerMatchers({ extend: (m) => (wrapped = m as typeof wrapped) }, { toBeSlow: slow }, {
      afterEach: (fn) => hooks.push(fn),
      ownerOfAssertion: (ctx) => ctx.task,
      ownerInAfterEach: (context) => (context as { task: unknown }).task,
    });
    const taskA = { name: 'a' };
    const taskB = { name: 'b' };
    const running = wrapped.toBeSlow!.call({ isNot: false, promise: '', utils: {}, task: taskA }, 1);
    expect(() => hooks[0]!({ task: taskB })).not.toThrow();
    expect(() => hooks[0]!({ task: taskA })).toThrow('expect(…).toBeSlow() was still running when the test ended');
    release!();
    await running;
    expect(() => hooks[0]!({ task: taskA })).not.toThrow();
  });

  test('registerMatchers extends the given expect with every matcher and hooks afterEach', () => {
    const extended: string[] = [];
    const hooks: (() => void)[] = [];
    registerMatchers({ extend: (m) => extended.push(...Object.keys(m)) }, robustestMatchers, { afterEach: (fn) => hooks.push(fn) });
    expect(extended).toEqual(Object.keys(robustestMatchers));
    expect(extended).toEqual(expect.arrayContaining(['toBeRobustAgainst', 'toHaveRobustAccuracy', 'toBeRobust', 'toMatchRobustnessSnapshot']));
    expect(hooks).toHaveLength(1);
    // Jest waits for a `done` callback when a hook declares a parameter.
    expect(hooks[0]!.length).toBe(0);
  });
});
