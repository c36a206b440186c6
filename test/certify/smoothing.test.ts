/**
 * Randomized smoothing against closed forms: the Clopper–Pearson bound against the binomial tail
 * summed directly, the radius against Φ integrated numerically, and certifySmoothed on a linear
 * classifier, whose smoothed probability Φ(margin / (σ‖w‖)) and exact certified radius (the
 * distance to its hyperplane) are known.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { ABSTAIN, certifySmoothed, classifier, smoothed } from '../../src/index.js';
import { clopperPearsonLower, smoothingRadius } from '../../src/certify/smoothing.js';
import { linearFunction } from '../support/models.js';

function logFactorial(k: number): number {
  let s = 0;
  for (let i = 2; i <= k; i++) s += Math.log(i);
  return s;
}

/** P(X ≥ k) for X ~ Binomial(n, p), summed term by term. */
function upperTail(k: number, n: number, p: number): number {
  let s = 0;
  for (let j = k; j <= n; j++) s += Math.exp(logFactorial(n) - logFactorial(j) - logFactorial(n - j) + j * Math.log(p) + (n - j) * Math.log1p(-p));
  return s;
}

/** Φ(z) by Simpson's rule on the standard normal density. */
function normalCdf(z: number): number {
  const steps = 20000;
  const h = z / steps;
  const f = (t: number) => Math.exp(-t * t / 2) / Math.sqrt(2 * Math.PI);
  let s = f(0) + f(z);
  for (let i = 1; i < steps; i++) s += f(i * h) * (i % 2 ? 4 : 2);
  return 0.5 + (s * h) / 3;
}

describe('randomized smoothing', () => {
  it.each([
    [40, 50, 0.001],
    [990, 1000, 0.001],
    [70, 100, 0.05],
  ])('Clopper–Pearson lower bound for %i of %i at α %f: the binomial tail there is α', (k, n, alpha) => {
    const p = clopperPearsonLower(k, n, alpha);
    expect(upperTail(k, n, p)).toBeCloseTo(alpha, 9);
    expect(clopperPearsonLower(0, n, alpha)).toBe(0);
  });

  it('radius σ·Φ⁻¹(p): Φ(radius / σ) equals p, and 0 below one half', () => {
    for (const [sigma, p] of [[0.25, 0.9], [0.5, 0.999], [1, 0.6]] as const) {
      expect(normalCdf(smoothingRadius(sigma, p) / sigma)).toBeCloseTo(p, 9);
    }
    expect(smoothingRadius(0.5, 0.49)).toBe(0);
  });

  // Class 1 iff w·x + b > 0; its smoothed probability is Φ((w·x + b) / (σ‖w‖)).
  const w = [0.6, -0.8];
  const b = 0.05;
  const clf = classifier(linearFunction(w.map((v) => [0, v]), [0, b]), { name: 'half-plane', outputs: 'logits' });
  const inputs = [
    [0.7, 0.2],
    [0.2, 0.7],
    [0.5, 0.4375],
  ];
  const labels = [1, 0, 1];
  const distance = inputs.map((x) => Math.abs(x[0]! * w[0]! + x[1]! * w[1]! + b) / Math.hypot(...w));

  it('certifies a linear classifier up to, and close to, its distance to the hyperplane; abstains on it', async () => {
    const sigma = 0.25;
    const model = smoothed(clf, { sigma });
    const seen: number[] = [];
    const before = tf.memory().numTensors;
    const report = await certifySmoothed(model, { inputs, labels }, { n0: 100, n: 4000, alpha: 0.001, batchSize: 700, seed: 3, radii: [0, 0.1, 0.3], onProgress: (done) => seen.push(done) });
    expect(tf.memory().numTensors).toBe(before);
    expect(seen.at(-1)).toBe(3 * 4100);
    for (const [i, s] of report.samples.entries()) {
      expect(s.radius).toBe(s.prediction === ABSTAIN ? 0 : smoothingRadius(sigma, clopperPearsonLower(s.count, 4000, 0.001)));
      if (i === 2) {
        // On the hyperplane: p = 1/2, so no lower bound clears it.
        expect(distance[2]).toBeLessThan(1e-9);
        expect(s.prediction).toBe(ABSTAIN);
        continue;
      }
      const pA = normalCdf(distance[i]! / sigma);
      expect(Math.abs(s.count / 4000 - pA)).toBeLessThan(4 * Math.sqrt((pA * (1 - pA)) / 4000));
      expect(s.prediction).toBe(labels[i]);
      expect(s.radius).toBeLessThanOrEqual(distance[i]!);
      expect(s.radius).toBeGreaterThan(distance[i]! - 0.1);
    }
    expect(report.certifiedAccuracy).toEqual([0, 0.1, 0.3].map((r) => report.samples.filter((s) => s.correct && s.radius >= r).length / 3));
    const again = await certifySmoothed(model, { inputs, labels }, { n0: 100, n: 4000, alpha: 0.001, batchSize: 700, seed: 3, radii: [0, 0.1, 0.3] });
    expect(again.samples).toEqual(report.samples);
  });

  it('predicts the majority class under noise, abstaining where the two classes tie', async () => {
    const model = smoothed(clf, { sigma: 0.25 });
    const before = tf.memory().numTensors;
    expect(await model.predict(inputs, { n: 2000, alpha: 0.001, seed: 1 })).toEqual([1, 0, ABSTAIN]);
    expect(tf.memory().numTensors).toBe(before);
    expect(() => smoothed(clf, { sigma: 0 })).toThrow(/sigma/);
    await expect(certifySmoothed(clf as never, { inputs, labels })).rejects.toMatchObject({ code: 'INVALID_MODEL' });
  });
});
