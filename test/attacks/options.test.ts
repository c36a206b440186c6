/**
 * The attack factories' contract: defaults in one place, bad options rejected eagerly with a
 * RobustestError naming what was expected, white-box attacks refusing models without
 * gradients, and tensor hygiene — no tensors left behind, none accumulated per iteration.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, test } from 'vitest';
import {
  APGD_DEFAULTS,
  CARLINI_WAGNER_DEFAULTS,
  DEEPFOOL_DEFAULTS,
  LBFGS_DEFAULTS,
  MIFGSM_DEFAULTS,
  RobustestError,
  apgd,
  carliniWagner,
  classifier,
  deepfool,
  ensureBackend,
  fgsm,
  lbfgs,
  mifgsm,
  pgd,
  type Attack,
  type Classifier,
} from '../../src/index.js';
import { linearFixture } from './helpers.js';

beforeAll(async () => {
  await ensureBackend();
});

function rejects(make: () => unknown, code: string, ...fragments: string[]): void {
  let error: unknown;
  try {
    make();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(RobustestError);
  expect((error as RobustestError).code).toBe(code);
  for (const fragment of fragments) expect((error as Error).message).toContain(fragment);
  expect((error as Error).message).toContain('Expected:');
  expect((error as Error).message).toContain('Received:');
}

async function rejectsAsync(run: () => Promise<unknown>, code: string, ...fragments: string[]): Promise<void> {
  const before = tf.memory().numTensors;
  const error = await run().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RobustestError);
  expect((error as RobustestError).code).toBe(code);
  for (const fragment of fragments) expect((error as Error).message).toContain(fragment);
  expect(tf.memory().numTensors).toBe(before);
}

describe('defaults', () => {
  test('resolved options carry every default, per norm', () => {
    expect(pgd().options).toMatchObject({ norm: 'linf', steps: 40, relativeStepSize: 2.5 / 40, randomStart: true, restarts: 1, loss: 'ce' });
    expect(pgd({ norm: 'l2' }).options).toMatchObject({ steps: 50, relativeStepSize: 2.5 / 50, randomStart: true });
    expect(pgd({ norm: 'l1' }).options).toMatchObject({ steps: 10, relativeStepSize: 0.2, randomStart: false, quantile: 0.99 });
    expect(pgd({ steps: 100 }).options.relativeStepSize).toBeCloseTo(0.025);
    expect(mifgsm().options).toMatchObject(MIFGSM_DEFAULTS);
    expect(apgd().options).toMatchObject({ ...APGD_DEFAULTS, loss: 'ce' });
    expect(apgd({ target: 'random' }).options.loss).toBe('dlr');
    expect(deepfool().options).toMatchObject(DEEPFOOL_DEFAULTS);
    expect(carliniWagner().options).toMatchObject(CARLINI_WAGNER_DEFAULTS);
    expect(lbfgs().options).toMatchObject(LBFGS_DEFAULTS);
    expect(Object.isFrozen(pgd().options)).toBe(true);
  });

  test('kinds, norms and descriptions', () => {
    const attacks: [Attack, string, string, RegExp][] = [
      [pgd(), 'fixed-epsilon', 'linf', /PGD \(L∞, 40 steps, step 0\.0625·ε, random start, ce loss\)/],
      [pgd({ randomStart: false }), 'fixed-epsilon', 'linf', /BIM/],
      [pgd({ norm: 'l1' }), 'fixed-epsilon', 'l1', /L1 sparse descent/],
      [mifgsm(), 'fixed-epsilon', 'linf', /MI-FGSM \(L∞, 10 steps of ε\/10, decay 1/],
      [apgd({ target: 3 }), 'fixed-epsilon', 'linf', /APGD \(L∞, targeted DLR loss, 100 steps, target: 3\)/],
      [deepfool({ norm: 'linf' }), 'minimization', 'linf', /DeepFool \(L∞/],
      [carliniWagner(), 'minimization', 'l2', /C&W \(L2, 5 × 300 Adam steps, lr 0\.1 cosine, κ 0, 5 candidate classes\)/],
      [carliniWagner({ target: 2 }), 'minimization', 'l2', /C&W \(L2, 5 × 300 Adam steps, lr 0\.1 cosine, κ 0, targeted: 2\)/],
      [lbfgs(), 'minimization', 'l2', /L-BFGS \(L2, target "least-likely"/],
    ];
    for (const [attack, kind, norm, description] of attacks) {
      expect(attack.kind).toBe(kind);
      expect(attack.norm).toBe(norm);
      expect(attack.requiresGradients).toBe(true);
      expect(attack.describe()).toMatch(description);
    }
  });
});

describe('bad options', () => {
  test.each([
    ['unknown option', () => pgd({ stpes: 10 } as never), 'INVALID_OPTION', '`stpes`'],
    ['zero steps', () => pgd({ steps: 0 }), 'INVALID_OPTION', '`steps`'],
    ['fractional steps', () => carliniWagner({ steps: 2.5 }), 'INVALID_OPTION', '`steps`'],
    ['both step sizes', () => pgd({ relativeStepSize: 0.1, absoluteStepSize: 0.01 }), 'INVALID_OPTION', 'not both'],
    ['negative step size', () => pgd({ absoluteStepSize: -1 }), 'INVALID_OPTION', '`absoluteStepSize`'],
    ['restarts without random start', () => pgd({ restarts: 3, randomStart: false }), 'INVALID_OPTION', 'randomStart'],
    ['quantile outside L1', () => pgd({ quantile: 0.9 }), 'INVALID_OPTION', 'L1 attack only'],
    ['unknown loss', () => pgd({ loss: 'hinge' as never }), 'INVALID_OPTION', "'ce' | 'margin' | 'dlr'"],
    ['PGD L0', () => pgd({ norm: 'l0' as never }), 'INVALID_OPTION', 'unsupported norm'],
    ['MI-FGSM L1', () => mifgsm({ norm: 'l1' as never }), 'INVALID_OPTION', 'unsupported norm'],
    ['APGD L1', () => apgd({ norm: 'l1' as never }), 'INVALID_OPTION', 'unsupported norm'],
    ['APGD rho', () => apgd({ rho: 1.5 }), 'INVALID_OPTION', '`rho`'],
    ['DeepFool L1', () => deepfool({ norm: 'l1' as never }), 'INVALID_OPTION', 'unsupported norm'],
    ['DeepFool one candidate', () => deepfool({ candidates: 1 }), 'INVALID_OPTION', '`candidates`'],
    ['DeepFool target', () => deepfool({ target: 3 } as never), 'INVALID_OPTION', 'untargeted by construction'],
    ['DeepFool top-k', () => deepfool({ criterion: { kind: 'top-k', k: 2 } }), 'INVALID_OPTION', 'first decision boundary'],
    ['C&W learning rate', () => carliniWagner({ learningRate: 0 }), 'INVALID_OPTION', '`learningRate`'],
    ['C&W abortEarly', () => carliniWagner({ abortEarly: 'yes' as never }), 'INVALID_OPTION', '`abortEarly`'],
    ['C&W initialConst', () => carliniWagner({ initialConst: 'linear' as never }), 'INVALID_OPTION', '`initialConst`'],
    ['C&W candidates', () => carliniWagner({ candidates: 0 }), 'INVALID_OPTION', '`candidates`'],
    ['C&W schedule', () => carliniWagner({ schedule: 'step' as never }), 'INVALID_OPTION', '`schedule`'],
    ['L-BFGS top-k', () => lbfgs({ criterion: { kind: 'top-k', k: 2 } }), 'INVALID_OPTION', 'targeted by construction'],
    ['L-BFGS misclassification', () => lbfgs({ criterion: 'misclassification' }), 'INVALID_OPTION', 'targeted by construction'],
    ['bad target', () => pgd({ target: -1 }), 'INVALID_OPTION', 'unknown target'],
    ['bad target list', () => fgsm({ target: [1, 2.5] }), 'INVALID_OPTION', 'target[1]'],
    ['top-k with a target', () => pgd({ target: 2, criterion: { kind: 'top-k', k: 2 } }), 'INVALID_OPTION', 'non-targeted criterion'],
    ['targeted criterion without target', () => pgd({ criterion: { kind: 'targeted' } }), 'INVALID_OPTION', 'needs a `target`'],
    ['top-k without k', () => pgd({ criterion: { kind: 'top-k' } as never }), 'INVALID_OPTION', 'criterion.k'],
    ['unknown criterion', () => pgd({ criterion: { kind: 'nearest' } as never }), 'INVALID_OPTION', 'unknown criterion'],
  ])('%s', (_, make, code, fragment) => rejects(make, code, fragment));

  test('problems that need the model are reported at run time, leaving no tensors', async () => {
    const f = linearFixture(3, 3, 6, 4);
    const clf = classifier(f.model.fn);
    const samples = { inputs: f.inputs, labels: f.labels };
    await rejectsAsync(() => pgd().run(clf, samples), 'INVALID_EPSILON', 'epsilon');
    await rejectsAsync(() => pgd().run(clf, samples, { epsilon: -0.1 }), 'INVALID_EPSILON');
    await rejectsAsync(() => pgd({ criterion: { kind: 'top-k', k: 3 } }).run(clf, samples, { epsilon: 0.1 }), 'INVALID_OPTION', '[1, 2]');
    await rejectsAsync(() => pgd({ target: 7 }).run(clf, samples, { epsilon: 0.1 }), 'INVALID_OPTION', 'class index');
    await rejectsAsync(() => pgd({ target: [0, 1] }).run(clf, samples, { epsilon: 0.1 }), 'INVALID_OPTION', '4 targets');
    await rejectsAsync(() => apgd({ target: 'random' }).run(clf, samples, { epsilon: 0.1 }), 'INVALID_OPTION', 'at least 4 classes');
    const binary = linearFixture(3, 2, 6, 4);
    await rejectsAsync(() => pgd({ loss: 'dlr' }).run(classifier(binary.model.fn), { inputs: binary.inputs, labels: binary.labels }, { epsilon: 0.1 }), 'INVALID_OPTION', 'at least 3 classes');
  });

  test('white-box attacks refuse a classifier without gradients and point to query-based attacks', async () => {
    const f = linearFixture(3, 3, 6, 4);
    const real = classifier(f.model.fn);
    const opaque = Object.create(real, { differentiable: { value: false }, kind: { value: 'onnx' } }) as Classifier;
    for (const attack of [fgsm(), pgd(), mifgsm(), apgd(), deepfool(), carliniWagner(), lbfgs()]) {
      await rejectsAsync(() => attack.run(opaque, { inputs: f.inputs, labels: f.labels }, { epsilon: 0.1 }), 'NOT_DIFFERENTIABLE', 'square()', 'hopSkipJump()');
    }
  });
});

describe('tensor hygiene', () => {
  /** A classifier that records tf.memory().numTensors at every gradient evaluation. */
  function watched(clf: Classifier, log: number[]): Classifier {
    return Object.create(clf, {
      valueAndGradient: {
        value: (x: tf.Tensor, loss: Parameters<Classifier['valueAndGradient']>[1]) => {
          log.push(tf.memory().numTensors);
          return clf.valueAndGradient(x, loss);
        },
      },
    }) as Classifier;
  }

  // Class 0 wins everywhere in the box, so no sample is ever broken and every attack runs all
  // its steps on all samples.
  const unbreakable = (x: tf.Tensor) =>
    tf.tidy(() => {
      const s = tf.sum(tf.reshape(x, [x.shape[0], -1]), 1, true);
      return tf.concat([tf.add(tf.mul(s, 0), 5), tf.mul(s, 0.01), tf.mul(s, -0.01), tf.mul(s, 0.02)], 1);
    });

  test.each([
    ['PGD', pgd({ steps: 60 }), 0.05, false],
    ['PGD L1', pgd({ norm: 'l1', steps: 60 }), 0.05, false],
    ['MI-FGSM', mifgsm({ steps: 60 }), 0.05, false],
    ['APGD', apgd({ steps: 60 }), 0.05, false],
    ['DeepFool', deepfool({ steps: 60 }), undefined, false],
    ['C&W', carliniWagner({ steps: 60, binarySearchSteps: 2, abortEarly: false }), undefined, false],
    ['L-BFGS', lbfgs({ steps: 30, binarySearchSteps: 2 }), undefined, true],
  ] as const)('%s holds a bounded number of tensors however many steps it takes', async (_, attack, epsilon, linearModel) => {
    const f = linearFixture(9, 4, 8, 6);
    const log: number[] = [];
    const clf = watched(classifier(linearModel ? f.model.fn : unbreakable), log);
    const labels = linearModel ? f.labels : f.labels.map(() => 0);
    const before = tf.memory().numTensors;
    const run = await attack.run(clf, { inputs: f.inputs, labels }, { epsilon, seed: 2 });
    run.adversarials.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(log.length).toBeGreaterThan(20);
    // A leak of one tensor per step would add dozens between the early and the late steps.
    const early = Math.max(...log.slice(2, 10));
    const late = Math.max(...log.slice(-10));
    expect(late).toBeLessThanOrEqual(early + 4);
  });
});
