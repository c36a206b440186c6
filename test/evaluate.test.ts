import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { classifier, evaluate, fgsm, Rng } from '../src/index.js';
import { linearFunction } from './support/models.js';

// A binary linear model z = [0, w·x + b]; class 1 iff w·x + b > 0.
const d = 6;
const w = [0.9, -1.3, 0.4, 2.0, -0.7, 1.1];
const b = -0.6;
const l1 = w.reduce((a, v) => a + Math.abs(v), 0);
const clf = classifier(linearFunction(w.map((v) => [0, v]), [0, b]), { name: 'linear' });

// Points well inside the box so that an ε ≤ 0.2 step is never clipped.
const rng = new Rng(5);
const inputs = Array.from({ length: 60 }, () => Array.from({ length: d }, () => rng.uniform(0.3, 0.7)));
const margin = inputs.map((x) => x.reduce((a, v, i) => a + v * w[i]!, b));
const truth = margin.map((m) => (m > 0 ? 1 : 0));
// Flip a few labels so that some samples are misclassified from the start.
const labels = truth.map((y, i) => (i % 10 === 3 ? 1 - y : y));
const epsilons = [0, 0.02, 0.05, 0.1, 0.2];

/** FGSM is the optimal L∞ attack on a linear model: it breaks exactly the samples with |margin| ≤ ε‖w‖₁. */
function expectedRobust(epsilon: number): number {
  return margin.filter((m, i) => labels[i] === truth[i] && Math.abs(m) > epsilon * l1).length / margin.length;
}

describe('evaluate', () => {
  it('gives the analytic robustness curve of a linear model under FGSM', async () => {
    const report = await evaluate(clf, { inputs, labels }, { attack: fgsm(), epsilons, seed: 3 });
    expect(report.cleanAccuracy).toBeCloseTo(labels.filter((y, i) => y === truth[i]).length / labels.length, 10);
    expect(report.robustAccuracy).toEqual(epsilons.map(expectedRobust));
    expect(report.robustAccuracy[0]).toBe(report.cleanAccuracy);
    expect(report.norm).toBe('linf');
    expect(report.backend).toBe(tf.getBackend());
    expect(report.attacks).toEqual(['FGSM (L∞, 1 step)']);
  });

  it('reports every sample: misclassified ones are not robust, at distance 0', async () => {
    const report = await evaluate(clf, { inputs, labels }, { attack: fgsm(), epsilons, seed: 3 });
    for (const s of report.samples) {
      expect(s.label).toBe(labels[s.index]);
      expect(s.prediction).toBe(truth[s.index]);
      if (!s.correct) {
        expect(s.breakingEpsilon).toBe(0);
        expect(s.distance).toBe(0);
        continue;
      }
      const breaks = epsilons.find((e) => Math.abs(margin[s.index]!) <= e * l1) ?? null;
      expect(s.breakingEpsilon).toBe(breaks);
      if (breaks !== null) {
        expect(s.adversarialClass).toBe(1 - s.label);
        expect(s.distance).toBeLessThanOrEqual(breaks + 1e-6);
        expect(s.adversarial).toHaveLength(d);
        expect(s.brokenBy).toBe('FGSM');
      }
    }
  });

  it('attacks a larger ε only on the survivors of the smaller one', async () => {
    const report = await evaluate(clf, { inputs, labels }, { attack: fgsm(), epsilons, seed: 3 });
    const correct = report.samples.filter((s) => s.correct).length;
    const survivorsBefore = epsilons.map((_, k) => (k === 0 ? correct : Math.round(report.robustAccuracy[k - 1]! * inputs.length)));
    expect(report.gradientEvaluations).toBe(survivorsBefore.reduce((a, n) => a + n, 0));
    expect(report.gradientEvaluations).toBeLessThan(correct * epsilons.length);
  });

  it('fails fast when atLeast can no longer be met, and says so', async () => {
    const full = await evaluate(clf, { inputs, labels }, { attack: fgsm(), epsilons: [0.2], seed: 3 });
    // Between the true robust accuracy and the clean one: only the attack can decide it.
    const atLeast = (full.robustAccuracy[0]! + full.cleanAccuracy) / 2;
    const fast = await evaluate(clf, { inputs, labels }, { attack: fgsm(), epsilons: [0.2], seed: 3, atLeast, batchSize: 8 });
    expect(full.stoppedEarly).toBeNull();
    expect(fast.stoppedEarly).toMatchObject({ atEpsilon: 0.2, attack: 'FGSM' });
    expect(fast.stoppedEarly!.unattacked).toBeGreaterThan(0);
    expect(fast.gradientEvaluations).toBeLessThan(full.gradientEvaluations);
    // The reported value is an upper bound that already decides the verdict.
    expect(fast.robustAccuracy[0]).toBeLessThan(atLeast);
    expect(fast.robustAccuracy[0]).toBeGreaterThanOrEqual(full.robustAccuracy[0]!);
    // When clean accuracy alone decides it, only the first chunk is attacked (for counterexamples).
    const decided = await evaluate(clf, { inputs, labels }, { attack: fgsm(), epsilons: [0.2], atLeast: full.cleanAccuracy + 0.01, batchSize: 8 });
    expect(decided.stoppedEarly).toEqual({ atEpsilon: 0.2, attack: 'FGSM', unattacked: decided.samples.filter((x) => x.correct).length - 8 });
    expect(decided.gradientEvaluations).toBe(8);
  });

  it('the same seed gives the same report; batch size does not change the result', async () => {
    const strip = (r: Awaited<ReturnType<typeof evaluate>>) => ({ ...r, seconds: 0 });
    const a = await evaluate(clf, { inputs, labels }, { attack: fgsm(), epsilons, seed: 9 });
    const b = await evaluate(clf, { inputs, labels }, { attack: fgsm(), epsilons, seed: 9, batchSize: 7 });
    expect(strip(b)).toEqual(strip(a));
  });

  it('keeps the adversarials of the lowest-indexed broken samples only, up to keepAdversarials', async () => {
    const all = await evaluate(clf, { inputs, labels }, { attack: fgsm(), epsilons, seed: 3, keepAdversarials: 'all' });
    const broken = all.samples.filter((o) => o.adversarial !== null).map((o) => o.index);
    expect(broken.length).toBeGreaterThan(5);
    // Samples break ε by ε, the smallest first: not in the order of their indices.
    const capped = await evaluate(clf, { inputs, labels }, { attack: fgsm(), epsilons, seed: 3, keepAdversarials: 4 });
    expect(capped.samples.filter((o) => o.adversarial !== null).map((o) => o.index)).toEqual(broken.slice(0, 4));
    capped.samples.forEach((o, i) => {
      // Everything else about each sample is the same.
      expect({ ...o, adversarial: null }).toEqual({ ...all.samples[i]!, adversarial: null });
      if (o.adversarial) expect(o.adversarial).toEqual(all.samples[i]!.adversarial);
    });
    expect(capped.robustAccuracy).toEqual(all.robustAccuracy);
    const none = await evaluate(clf, { inputs, labels }, { attack: fgsm(), epsilons, seed: 3, keepAdversarials: 0 });
    expect(none.samples.every((o) => o.adversarial === null)).toBe(true);
    await expect(evaluate(clf, { inputs, labels }, { attack: fgsm(), epsilons, keepAdversarials: -1 })).rejects.toMatchObject({ code: 'INVALID_OPTION' });
  });

  it('refuses a curve without an attack, mixed norms, or fixed-ε attacks without epsilons', async () => {
    await expect(evaluate(clf, { inputs, labels }, { epsilons })).rejects.toThrow(/needs an attack/);
    await expect(evaluate(clf, { inputs, labels }, { attacks: [fgsm(), fgsm({ norm: 'l2' })], epsilons })).rejects.toThrow(/same norm/);
    await expect(evaluate(clf, { inputs, labels }, { attack: fgsm() })).rejects.toThrow(/fixed-ε attacks need `epsilons`/);
    await expect(evaluate(clf, { inputs, labels }, { attack: fgsm(), epsilons, atLeast: 2 })).rejects.toThrow(/a number in \[0, 1\]/);
  });
});

describe('per-sample randomness is keyed by the sample, not its position', () => {
  it("a random target and a random start give the same result for a sample wherever it sits", async () => {
    const { pgd } = await import('../src/index.js');
    const attack = pgd({ steps: 3, target: 'random' });
    const three = { inputs: inputs.slice(0, 3), labels: labels.slice(0, 3) };
    const whole = await attack.run(clf, three, { epsilon: 0.1, seed: 4, sampleIds: [10, 11, 12] });
    const alone = await attack.run(clf, { inputs: [inputs[2]!], labels: [labels[2]!] }, { epsilon: 0.1, seed: 4, sampleIds: [12] });
    expect(alone.targets).toEqual([whole.targets![2]]);
    expect(alone.distances).toEqual([whole.distances[2]]);
    const [a, b] = [await alone.adversarials.data(), await whole.adversarials.data()];
    expect(Array.from(a)).toEqual(Array.from(b.slice(2 * d, 3 * d)));
    tf.dispose([alone.adversarials, whole.adversarials]);
  });
});

describe('batches sized to a memory cap', () => {
  it('holds at most 2^22 input values per batch by default, and 256 samples at most', async () => {
    const { defaultBatchSize, BATCH_VALUE_CAP } = await import('../src/engine/batches.js');
    expect(defaultBatchSize(784)).toBe(256);
    expect(defaultBatchSize(224 * 224 * 3)).toBe(27);
    expect(27 * 224 * 224 * 3).toBeLessThanOrEqual(BATCH_VALUE_CAP);
    expect(defaultBatchSize(10 ** 8)).toBe(1);
  });
});
