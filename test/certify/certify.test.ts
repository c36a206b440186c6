/**
 * certify() and verify() end to end: the report's shape and invariants, methods in 'auto' order,
 * misclassified samples never certified, certified samples never broken by the package's attacks,
 * typed errors, cancellation, and no tensor left behind.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { apgd, certify, deepfool, pgd, verify, type CertificationReport } from '../../src/index.js';
import { evaluate } from '../../src/evaluate.js';
import { Rng } from '../../src/engine/random.js';
import { convolutional, denseRelu } from './networks.js';

function samplesFor(model: tf.LayersModel, count: number, seed: number, wrong: number[] = []) {
  const shape = model.inputs[0]!.shape.slice(1) as number[];
  const n = shape.reduce((a, b) => a * b, 1);
  const rng = new Rng(seed);
  const flat = Float32Array.from({ length: count * n }, () => rng.uniform(0.1, 0.9));
  const inputs = tf.tensor(flat, [count, ...shape]);
  const predicted = tf.tidy(() => tf.argMax(model.predict(inputs) as tf.Tensor, 1).dataSync() as Int32Array);
  const classes = (model.outputs[0]!.shape[1] as number);
  const labels = Array.from(predicted, (p, i) => (wrong.includes(i) ? (p + 1) % classes : p));
  return { inputs, labels };
}

describe('certify', () => {
  const epsilons = [0, 0.005, 0.02, 0.08];

  it('returns the CertificationReport; certifies only correct samples with a positive margin, leaking nothing', async () => {
    const model = denseRelu(31, [10, 24, 24, 4]);
    const samples = samplesFor(model, 12, 1, [2, 7]);
    const before = tf.memory().numTensors;
    const report = await certify(model, samples, { epsilons, method: 'auto' });
    expect(tf.memory().numTensors).toBe(before);
    expect(Object.keys(report).sort()).toEqual(['backend', 'budget', 'certifiedAccuracy', 'cleanAccuracy', 'count', 'epsilons', 'method', 'norm', 'samples', 'seconds'].sort());
    expect(report.budget).toEqual({ seconds: 60, exhausted: false });
    expect(report.count).toBe(12);
    expect(report.cleanAccuracy).toBeCloseTo(10 / 12, 12);
    for (const s of report.samples) {
      expect(Object.keys(s).sort()).toEqual(['certified', 'certifiedBy', 'index', 'label', 'margins', 'prediction', 'strongest'].sort());
      s.certified.forEach((c, e) => {
        expect(c).toBe(s.prediction === s.label && s.margins[e]! > 0);
        expect(s.certifiedBy[e] !== null).toBe(c);
      });
      // ε = 0: the bound is the exact margin, positive exactly when the sample is correct.
      expect(s.certified[0]).toBe(s.prediction === s.label);
    }
    expect(report.samples[2]!.certified.some(Boolean)).toBe(false);
    report.certifiedAccuracy.forEach((a, e) => expect(a).toBe(report.samples.filter((s) => s.certified[e]).length / 12));
    // Smaller balls certify at least as many samples here.
    expect(report.certifiedAccuracy[1]).toBeGreaterThanOrEqual(report.certifiedAccuracy[3]!);
    samples.inputs.dispose();
    model.dispose();
  });

  it("'auto' is at least as tight as each method, and names the one that certified", async () => {
    const model = denseRelu(32, [10, 24, 24, 4]);
    const samples = samplesFor(model, 10, 2);
    const reports: Record<string, CertificationReport> = {};
    for (const method of ['ibp', 'crown', 'alpha-crown', 'auto'] as const) reports[method] = await certify(model, samples, { epsilons, method });
    const auto = reports.auto!;
    auto.samples.forEach((s, i) => {
      s.certified.forEach((c, e) => {
        const ibp = reports.ibp!.samples[i]!;
        const crown = reports.crown!.samples[i]!;
        const alpha = reports['alpha-crown']!.samples[i]!;
        expect(c).toBe(ibp.certified[e] || crown.certified[e] || alpha.certified[e]);
        if (ibp.certified[e]) expect(s.certifiedBy[e]).toBe('ibp');
        else if (crown.certified[e]) expect(s.certifiedBy[e]).toBe('crown');
        else if (c) expect(s.certifiedBy[e]).toBe('alpha-crown');
        expect(alpha.margins[e]).toBeGreaterThanOrEqual(crown.margins[e]! - 1e-12);
      });
    });
    samples.inputs.dispose();
    model.dispose();
  });

  it("'auto' stops starting stronger methods when its time budget runs out, and says so", async () => {
    const model = denseRelu(38, [10, 24, 24, 4]);
    const samples = samplesFor(model, 8, 7, [3]);
    const eps = [0.01, 0.05];
    const full = await certify(model, samples, { epsilons: eps, method: 'auto' });
    expect(full.budget.exhausted).toBe(false);
    // Every correct, uncertified sample reached α-CROWN; a misclassified one stays at IBP.
    full.samples.forEach((s) =>
      s.strongest.forEach((m, e) => {
        if (s.prediction !== s.label) expect(m).toBe('ibp');
        else if (!s.certified[e]) expect(m).toBe('alpha-crown');
        else expect(m).toBe(s.certifiedBy[e]);
      }),
    );
    const cut = await certify(model, samples, { epsilons: eps, method: 'auto', timeBudget: 0 });
    const needed = full.samples.some((s) => s.certifiedBy.some((m) => m !== 'ibp' && m !== null) || s.strongest.some((m) => m !== 'ibp'));
    expect(needed).toBe(true);
    expect(cut.budget).toEqual({ seconds: 0, exhausted: true });
    // A zero budget still bounds every sample by IBP, and certifies exactly what IBP certifies.
    const ibp = await certify(model, samples, { epsilons: eps, method: 'ibp' });
    cut.samples.forEach((s, i) => {
      expect(s.strongest.every((m) => m === 'ibp')).toBe(true);
      expect(s.margins).toEqual(ibp.samples[i]!.margins);
      expect(s.certified).toEqual(ibp.samples[i]!.certified);
    });
    await expect(certify(model, samples, { epsilons: eps, timeBudget: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    samples.inputs.dispose();
    model.dispose();
  });

  it.each([
    ['dense', 'linf', () => denseRelu(33, [10, 24, 24, 4])],
    ['convolutional', 'linf', () => convolutional(34)],
    ['dense', 'l2', () => denseRelu(35, [10, 24, 24, 4])],
  ] as const)('a certified %s sample (%s) is never broken by PGD, APGD or DeepFool', async (_, norm, build) => {
    const model = build();
    const samples = samplesFor(model, 16, 3);
    const eps = norm === 'linf' ? [0.005, 0.02, 0.05] : [0.02, 0.1, 0.3];
    const report = await certify(model, samples, { epsilons: eps, norm, method: 'auto' });
    expect(report.certifiedAccuracy.some((a) => a > 0)).toBe(true);
    for (const attack of [pgd({ norm, steps: 30, randomStart: true }), apgd({ norm, steps: 30 }), deepfool({ norm })]) {
      const attacked = await evaluate(model, samples, { attack, epsilons: eps, seed: 4 });
      report.samples.forEach((s, i) => {
        const broke = attacked.samples[i]!.breakingEpsilon;
        s.certified.forEach((c, e) => {
          if (c) expect(broke === null || broke > eps[e]!).toBe(true);
        });
      });
    }
    samples.inputs.dispose();
    model.dispose();
  });

  it('names an unsupported layer with UNSUPPORTED_LAYER, and a softmax that is not last', async () => {
    const swish = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 4 }), tf.layers.activation({ activation: 'swish', name: 'swishy' }), tf.layers.dense({ units: 2 })] });
    const inputs = [[0.1, 0.2, 0.3]];
    await expect(certify(swish, { inputs, labels: [0] }, { epsilons: [0.1] })).rejects.toMatchObject({ code: 'UNSUPPORTED_LAYER', message: expect.stringContaining('swishy') });
    const early = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 4, activation: 'softmax' }), tf.layers.dense({ units: 2 })] });
    await expect(certify(early, { inputs, labels: [0] }, { epsilons: [0.1] })).rejects.toMatchObject({ code: 'UNSUPPORTED_LAYER' });
    await expect(certify(early, { inputs, labels: [0] }, { epsilons: [-1] })).rejects.toMatchObject({ code: 'INVALID_EPSILON' });
    await expect(certify(early, { inputs, labels: [0] }, { epsilons: [0.1], method: 'exact' as never })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('stops with ABORTED when its signal fires', async () => {
    const model = denseRelu(36, [10, 24, 24, 4]);
    const samples = samplesFor(model, 4, 5);
    const controller = new AbortController();
    controller.abort('enough');
    const before = tf.memory().numTensors;
    await expect(certify(model, samples, { epsilons: [0.01], signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED' });
    expect(tf.memory().numTensors).toBe(before);
    samples.inputs.dispose();
    model.dispose();
  });
});

describe('verify', () => {
  it('brackets robust accuracy between the certified and the not-falsified share', async () => {
    const model = denseRelu(37, [10, 24, 24, 4]);
    const samples = samplesFor(model, 14, 6, [5]);
    const epsilons = [0.005, 0.03, 0.2];
    const before = tf.memory().numTensors;
    const report = await verify(model, samples, { epsilons, attack: pgd({ steps: 30 }), seed: 2 });
    expect(tf.memory().numTensors).toBe(before);
    report.robustAccuracy.forEach(([low, high]) => expect(low).toBeLessThanOrEqual(high));
    const misclassified = report.samples[5]!;
    expect(misclassified.verdicts.every((v) => v === 'falsified')).toBe(true);
    expect(misclassified.falsifiedBy).toBe('clean input');
    for (const s of report.samples) {
      s.verdicts.forEach((v, e) => {
        expect(v === 'falsified').toBe(s.adversarials[e] !== null);
        if (v === 'certified') expect(s.margins[e]).toBeGreaterThan(0);
      });
    }
    // The largest ball falsifies something and the smallest certifies something: all three verdicts occur.
    const all = new Set(report.samples.flatMap((s) => s.verdicts));
    expect(all.has('certified')).toBe(true);
    expect(all.has('falsified')).toBe(true);
    await expect(verify(model, samples, { epsilons, attack: 'pgd' as never })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
    samples.inputs.dispose();
    model.dispose();
  });
});
