import * as tf from '@tensorflow/tfjs';
import * as fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkInvariance, classifier, ensureBackend, fuzz, perturbations, RobustestError, transforms, type Perturbation } from '../src/index.js';
import { GRID_STEPS } from '../src/property/perturbations/arbitraries.js';
import { loadMnistModel, mnistSamples } from '../examples/mnist/models.js';

// The bundled MNIST MLP is fragile: heavy Gaussian noise flips some of its digits.
let model: tf.LayersModel;
let inputs: tf.Tensor4D;
let labels: number[];
const HEAVY = 0.8;

beforeAll(async () => {
  await ensureBackend();
  model = await loadMnistModel('mlp');
  ({ inputs, labels } = mnistSamples(20));
});

afterAll(() => {
  model.dispose();
  inputs.dispose();
});

/** Independent re-computation: the model's classes for the value applied to each input, one plain predict. */
async function classesUnder(p: Perturbation | null): Promise<number[]> {
  const x = p ? p.apply(inputs, [0, 1]) : inputs;
  const out = tf.tidy(() => tf.argMax(model.predict(x) as tf.Tensor, 1));
  const classes = Array.from(await out.data());
  out.dispose();
  if (x !== inputs) x.dispose();
  return classes;
}

async function leaks(body: () => Promise<unknown>): Promise<number> {
  const before = tf.memory().numTensors;
  await body().catch(() => undefined);
  return tf.memory().numTensors - before;
}

describe('fuzz() on the fragile MNIST MLP', () => {
  it('catches heavy noise, with a shrunk counterexample that really breaks the model', async () => {
    const clean = await classesUnder(null);
    const report = await fuzz(model, perturbations.gaussianNoise(HEAVY), { on: { inputs, labels }, numRuns: 50, seed: 1 });
    expect(report.pass).toBe(false);
    expect(report.checked).toBe(clean.filter((c, i) => c === labels[i]).length);
    expect(report.skipped).toEqual(clean.flatMap((c, i) => (c === labels[i] ? [] : [i])));
    const c = report.counterexample!;
    expect(c).not.toBeNull();
    // Shrinking happened: the counterexample is weaker than the budget.
    expect(c.shrinks).toBeGreaterThan(0);
    expect(c.perturbation.params.sigma as number).toBeLessThan(HEAVY);
    expect(c.perturbation.params.sigma as number).toBeGreaterThan(0);
    // The reported class change is what the model does to that input.
    const under = await classesUnder(c.perturbation);
    expect(c.before.class).toBe(labels[c.input]);
    expect(under[c.input]).toBe(c.after.class);
    expect(c.after.class).not.toBe(c.before.class);
    expect(c.flippedInputs).toEqual(under.flatMap((k, i) => (clean[i] === labels[i] && k !== labels[i] ? [i] : [])));
    expect(c.input).toBe(c.flippedInputs[0]);
    expect(c.after.confidence).toBeGreaterThan(0);
    expect(c.after.confidence).toBeLessThanOrEqual(1);
    // Sizes are those of what the model saw.
    let linf = 0;
    let l2 = 0;
    let l0 = 0;
    for (let i = 0; i < c.original.length; i++) {
      const d = Math.abs(c.perturbed[i]! - c.original[i]!);
      linf = Math.max(linf, d);
      l2 += d * d;
      if (d !== 0) l0++;
    }
    expect(c.sizes.linf).toBeCloseTo(linf, 5);
    expect(c.sizes.l2).toBeCloseTo(Math.sqrt(l2), 4);
    expect(c.sizes.l0).toBe(l0);
    expect(c.original).toHaveLength(784);
  });

  it('shrinks to within one grid step: one step weaker, no checked input changes class', async () => {
    const report = await fuzz(model, perturbations.gaussianNoise(HEAVY), { on: { inputs, labels }, numRuns: 50, seed: 1 });
    const { sigma, seed } = report.counterexample!.perturbation.params as { sigma: number; seed: number };
    const step = Math.round((sigma * GRID_STEPS) / HEAVY);
    const weaker = transforms.gaussianNoise((HEAVY * (step - 1)) / GRID_STEPS, seed);
    const check = await checkInvariance(model, weaker, { on: { inputs, labels } });
    expect(check.changes).toEqual([]);
  });

  it('finds exactly the counterexample plain fc.check finds, one model call per value', async () => {
    const clean = await classesUnder(null);
    const arbitrary = perturbations.linf(0.5);
    const direct = await fc.check(
      fc.asyncProperty(arbitrary, async (p) => (await classesUnder(p)).every((k, i) => clean[i] !== labels[i] || k === labels[i])),
      { seed: 9, numRuns: 60 },
    );
    expect(direct.failed).toBe(true);
    const report = await fuzz(model, arbitrary, { on: { inputs, labels }, numRuns: 60, seed: 9 });
    expect(report.counterexample!.path).toBe(direct.counterexamplePath);
    expect(report.counterexample!.perturbation.params).toEqual(direct.counterexample![0].params);
    expect(report.counterexample!.run).toBe(direct.numRuns - 1);
    expect(report.counterexample!.shrinks).toBe(direct.numShrinks);
  });

  it('the same seed gives the same counterexample; another seed draws other perturbations', async () => {
    const run = (seed: number) => fuzz(model, perturbations.saltAndPepper(0.4), { on: { inputs, labels }, numRuns: 40, seed });
    const [a, b, other] = [await run(3), await run(3), await run(4)];
    expect(b.counterexample!.perturbation.params).toEqual(a.counterexample!.perturbation.params);
    expect(b.counterexample!.path).toBe(a.counterexample!.path);
    expect(b.counterexample!.input).toBe(a.counterexample!.input);
    expect(Array.from(b.counterexample!.perturbed)).toEqual(Array.from(a.counterexample!.perturbed));
    expect(other.counterexample!.perturbation.params.seed).not.toBe(a.counterexample!.perturbation.params.seed);
  });

  it('the printed { seed, path } replays the same counterexample, without drawing again', async () => {
    const first = await fuzz(model, perturbations.rotation(45), { on: { inputs, labels }, numRuns: 80, seed: 2 });
    const c = first.counterexample!;
    const replay = await fuzz(model, perturbations.rotation(45), { on: { inputs, labels }, seed: 2, path: c.path });
    expect(replay.pass).toBe(false);
    expect(replay.replayedPath).toBe(c.path);
    expect(replay.counterexample!.path).toBe(c.path);
    expect(replay.counterexample!.perturbation.params).toEqual(c.perturbation.params);
    expect(replay.counterexample!.input).toBe(c.input);
    expect(replay.counterexample!.after).toEqual(c.after);
    expect(replay.runs).toBe(1);
    expect(replay.modelCalls).toBeLessThan(first.modelCalls);
    // A path from the middle of the shrinking replays that intermediate case.
    const partial = c.path.split(':').slice(0, 2).join(':');
    const midway = await fuzz(model, perturbations.rotation(45), { on: { inputs, labels }, seed: 2, path: partial });
    expect(midway.counterexample!.path).toBe(c.path);
  });

  it('zero noise passes, every run evaluated', async () => {
    const report = await fuzz(model, perturbations.gaussianNoise(0), { on: { inputs, labels }, numRuns: 30, seed: 1 });
    expect(report.pass).toBe(true);
    expect(report.counterexample).toBeNull();
    expect(report.runs).toBe(30);
    expect(report.robustFraction).toBe(1);
    expect(report.flippedInputs).toEqual([]);
  });

  it('atLeast: a fraction of robust inputs passes; below it, the first failure is shrunk', async () => {
    const all = await fuzz(model, perturbations.gaussianNoise(HEAVY), { on: { inputs, labels }, numRuns: 30, seed: 1, atLeast: 0 });
    expect(all.runs).toBe(30);
    expect(all.pass).toBe(true);
    expect(all.counterexample).toBeNull();
    expect(all.robustFraction).toBe(all.robustInputs / all.checked);
    expect(all.flippedInputs.length).toBe(all.checked - all.robustInputs);
    expect(all.flippedInputs.length).toBeGreaterThan(0);
    // The fraction is an independent recount over the same drawn values.
    const clean = await classesUnder(null);
    const flipped = new Set<number>();
    for (const p of fc.sample(perturbations.gaussianNoise(HEAVY), { seed: 1, numRuns: 30 })) {
      (await classesUnder(p)).forEach((k, i) => {
        if (clean[i] === labels[i] && k !== labels[i]) flipped.add(i);
      });
    }
    expect(all.flippedInputs).toEqual([...flipped].sort((a, b) => a - b));
    const strict = await fuzz(model, perturbations.gaussianNoise(HEAVY), { on: { inputs, labels }, numRuns: 30, seed: 1, atLeast: 0.99 });
    expect(strict.pass).toBe(false);
    expect(strict.counterexample!.shrinks).toBeGreaterThan(0);
  });

  it('without labels, every input is checked against its own clean prediction', async () => {
    const report = await fuzz(model, perturbations.translation(3), { on: inputs, numRuns: 20, seed: 5 });
    expect(report.checked).toBe(20);
    expect(report.skipped).toEqual([]);
    const c = report.counterexample!;
    expect(c.label).toBeNull();
    expect(c.before.class).toBe((await classesUnder(null))[c.input]);
  });

  it('a fixed value is fuzzed as a single case', async () => {
    const report = await fuzz(model, transforms.translate(0), { on: { inputs, labels }, numRuns: 10 });
    expect(report.pass).toBe(true);
    expect(report.perturbation).toBe('translation dx=0 dy=0');
  });
});

describe('batching', () => {
  it('packs many perturbations into each model call', async () => {
    let calls = 0;
    let rows = 0;
    const counted = (x: tf.Tensor): tf.Tensor => {
      calls++;
      rows += x.shape[0]!;
      return model.predict(x) as tf.Tensor;
    };
    const numRuns = 100;
    // atLeast 0: every run is evaluated and nothing is shrunk, whatever the model does.
    const report = await fuzz(counted, perturbations.gaussianNoise(0.3), { on: { inputs, labels }, numRuns, seed: 3, batchSize: 256, atLeast: 0 });
    expect(report.runs).toBe(numRuns);
    const m = report.checked;
    // One clean call, then ⌊256 / m⌋ perturbations per call.
    expect(report.modelCalls).toBe(1 + Math.ceil(numRuns / Math.floor(256 / m)));
    expect(report.modelRows).toBe(20 + numRuns * m);
    // The classifier adds its own probes (output kind, class count): at most two calls.
    expect(calls).toBeLessThanOrEqual(report.modelCalls + 3);
    expect(calls).toBeLessThan((numRuns * 20) / 50);
    expect(rows).toBeGreaterThanOrEqual(numRuns * m);
  });

  it('gives the same verdicts whatever the batch size', async () => {
    const a = await fuzz(model, perturbations.pixels(40), { on: { inputs, labels }, numRuns: 40, seed: 8, batchSize: 7, atLeast: 0 });
    const b = await fuzz(model, perturbations.pixels(40), { on: { inputs, labels }, numRuns: 40, seed: 8, batchSize: 1000, atLeast: 0 });
    expect(b.flippedInputs).toEqual(a.flippedInputs);
    expect(a.modelCalls).toBeGreaterThan(b.modelCalls);
    expect(b.modelCalls).toBe(1 + 1);
  });
});

describe('tensor hygiene', () => {
  it('fuzz and checkInvariance leave numTensors unchanged, passing, failing, replaying or throwing', async () => {
    const on = { inputs, labels };
    expect(await leaks(() => fuzz(model, perturbations.gaussianNoise(0), { on, numRuns: 20 }))).toBe(0);
    expect(await leaks(() => fuzz(model, perturbations.compose(perturbations.blur(1), perturbations.gaussianNoise(0.6)), { on, numRuns: 20, seed: 1 }))).toBe(0);
    expect(await leaks(() => fuzz(model, perturbations.rotation(45), { on, seed: 2, path: '0:1' }))).toBe(0);
    expect(await leaks(() => checkInvariance(model, transforms.translate(3), { on }))).toBe(0);
    expect(await leaks(() => fuzz(model, perturbations.linf(0.1), { on, numRuns: 0 }))).toBe(0);
    const flat = tf.zeros([3, 784]);
    expect(await leaks(() => fuzz(classifier((x: tf.Tensor) => model.predict(tf.reshape(x, [-1, 28, 28, 1])) as tf.Tensor), perturbations.rotation(5), { on: flat }))).toBe(0);
    flat.dispose();
  });
});

describe('checkInvariance()', () => {
  it('reports exactly the inputs whose class a transform changes', async () => {
    const clean = await classesUnder(null);
    const t = transforms.translate(3);
    const shifted = await classesUnder(t);
    const report = await checkInvariance(model, t, { on: { inputs, labels } });
    const expected = shifted.flatMap((k, i) => (clean[i] === labels[i] && k !== labels[i] ? [i] : []));
    expect(expected.length).toBeGreaterThan(0);
    expect(report.changes.map((c) => c.input)).toEqual(expected);
    expect(report.changes.map((c) => c.after.class)).toEqual(expected.map((i) => shifted[i]));
    expect(report.invariantFraction).toBeCloseTo(1 - expected.length / report.checked, 12);
    expect(report.pass).toBe(false);
    expect((await checkInvariance(model, t, { on: { inputs, labels }, atLeast: report.invariantFraction })).pass).toBe(true);
    expect((await checkInvariance(model, transforms.translate(0), { on: { inputs, labels } })).pass).toBe(true);
  });
});

describe('bad input is rejected clearly', () => {
  const on = () => ({ inputs, labels });
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ['no options', () => fuzz(model, perturbations.linf(0.1), undefined as never), /needs an options object[\s\S]*Received: undefined/],
    ['no inputs', () => fuzz(model, perturbations.linf(0.1), {} as never), /`on` names the inputs/],
    ['unknown option', () => fuzz(model, perturbations.linf(0.1), { on: on(), runs: 5 } as never), /unknown option `runs`[\s\S]*numRuns/],
    ['numRuns 0', () => fuzz(model, perturbations.linf(0.1), { on: on(), numRuns: 0 }), /numRuns must be a positive integer[\s\S]*Received: 0/],
    ['fractional seed', () => fuzz(model, perturbations.linf(0.1), { on: on(), seed: 1.5 }), /seed must be a 32-bit integer[\s\S]*Received: 1\.5/],
    ['huge seed', () => fuzz(model, perturbations.linf(0.1), { on: on(), seed: 2 ** 40 }), /seed must be a 32-bit integer/],
    ['bad path', () => fuzz(model, perturbations.linf(0.1), { on: on(), path: 'abc' }), /counterexample path[\s\S]*"37:2:0"[\s\S]*Received: "abc"/],
    ['path past the shrinks', () => fuzz(model, perturbations.linf(0.1), { on: on(), path: '0:999' }), /path "0:999" leads to no case of this perturbation with seed 0/],
    ['path far too deep', () => fuzz(model, perturbations.linf(0.1), { on: on(), path: Array(60).fill(0).join(':') }), /leads to no case/],
    ['atLeast above 1', () => fuzz(model, perturbations.linf(0.1), { on: on(), atLeast: 90 }), /atLeast is a fraction[\s\S]*\[0, 1\][\s\S]*Received: 90/],
    ['batchSize 0', () => fuzz(model, perturbations.linf(0.1), { on: on(), batchSize: 0 }), /batchSize must be a positive integer/],
    ['not a perturbation', () => fuzz(model, 0.1 as never, { on: on() }), /takes a perturbation arbitrary or a perturbation value[\s\S]*Received: 0\.1/],
    ['arbitrary of numbers', () => fuzz(model, fc.double() as never, { on: on() }), /produced something that is not a perturbation[\s\S]*Received: /],
    ['out-of-bounds inputs', () => fuzz(model, perturbations.linf(0.1), { on: tf.fill([2, 28, 28, 1], 3) }), /leave the classifier's bounds/],
    ['label count', () => fuzz(model, perturbations.linf(0.1), { on: { inputs, labels: [1, 2] } }), /disagree on the number of samples/],
    ['every input misclassified', () => fuzz(model, perturbations.linf(0.1), { on: { inputs: tf.zeros([2, 28, 28, 1]), labels: [9, 9].map((v, i) => (v + i) % 10) } }), /misclassifies every one of the 2 inputs/],
    ['invariance under an arbitrary', () => checkInvariance(model, perturbations.translation(1) as never, { on: on() }), /takes one fixed transform\. This is an arbitrary[\s\S]*transforms\.translate\(1\)/],
    ['invariance option', () => checkInvariance(model, transforms.translate(1), { on: on(), numRuns: 4 } as never), /unknown option `numRuns`/],
    ['spatial perturbation of flat inputs', () => fuzz(classifier((x: tf.Tensor) => model.predict(tf.reshape(x, [-1, 28, 28, 1])) as tf.Tensor), perturbations.rotation(5), { on: tf.zeros([3, 784]) }), /applies to images[\s\S]*Received: \[\d+, 784\]/],
  ];
  it.each(cases)('%s', async (_, call, message) => {
    const error = await call().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RobustestError);
    expect((error as Error).message).toMatch(message);
  });
});
