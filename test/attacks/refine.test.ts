/**
 * Bisection towards the original when another executor found the candidate: a candidate on the
 * executor's decision boundary that the model's own runtime puts on the other side is carried
 * across along its ray, by the least it takes, and then bisected there (linear oracle).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBackend } from '../../src/index.js';
import { bisectTowardsOriginal } from '../../src/attacks/refine.js';
import type { AttackContext } from '../../src/attacks/runner.js';

beforeAll(() => ensureBackend());

const W = [0.5, -1, 2, 0.25];
const SHIFT = 1e-5;

/** Two classes, z = [w·x, 0]; the verdict runtime's first logit is SHIFT higher. */
function context(engine: 'onnxruntime' | 'tfjs', x0: tf.Tensor2D) {
  let verdictQueries = 0;
  const scores = (x: tf.Tensor, shift: number) => tf.tidy(() => tf.stack([tf.add(tf.sum(tf.mul(x, tf.tensor1d(W)), 1), shift), tf.zeros([x.shape[0]!])], 1)) as tf.Tensor2D;
  const ctx = {
    clf: { engine, verdictLogits: async (x: tf.Tensor) => scores(x, SHIFT) },
    x: x0,
    bounds: [-10, 10] as const,
    verdictLogits: async (x: tf.Tensor, rows?: readonly number[]) => {
      verdictQueries += rows?.length ?? x.shape[0]!;
      return scores(x, SHIFT);
    },
    isAdversarial: (logits: tf.Tensor2D) => {
      const z = logits.arraySync();
      return z.map((row) => row[1]! > row[0]!);
    },
  } as unknown as AttackContext;
  return { ctx, queries: () => verdictQueries };
}

const dot = (x: number[]) => x.reduce((t, v, i) => t + v * W[i]!, 0);

describe('bisectTowardsOriginal across executors', () => {
  const origin = [1, 0, 0.5, 0]; // w·x0 = 1.5
  // On the executor's boundary from the executor's side: w·x = −1e−7, which the verdict runtime reads as +SHIFT − 1e−7 > 0.
  const target = -1e-7;
  const s = (1.5 - target) / 1.5;
  const direction = W.map((w) => (-w * 1.5) / W.reduce((t, v) => t + v * v, 0));
  const candidate = origin.map((v, i) => v + s * direction[i]!);

  it('carries a candidate the verdict runtime rejects just across, then bisects there', async () => {
    expect(dot(candidate)).toBeCloseTo(target, 9);
    const x0 = tf.tensor2d([origin]);
    const candidates = tf.tensor2d([candidate]);
    const { ctx, queries } = context('onnxruntime', x0);
    const before = tf.memory().numTensors;
    const refined = await bisectTowardsOriginal(ctx, candidates, [0], 20);
    const value = Array.from(refined.dataSync());
    refined.dispose();
    expect(tf.memory().numTensors).toBe(before);
    // Adversarial on the verdict runtime, and no further past its boundary (w·x = −SHIFT) than
    // float32 resolves: the bracket [1, 1.0001] halves 20 times.
    expect(dot(value) + SHIFT).toBeLessThan(0);
    expect(dot(value) + SHIFT).toBeGreaterThan(-1e-6);
    // Factor 1 and 1.0001 once each, then the 20 bisection steps.
    expect(queries()).toBe(22);
    tf.dispose([x0, candidates]);
  });

  it('leaves the bracket at [0, 1] when the executor is the verdict runtime', async () => {
    const x0 = tf.tensor2d([origin]);
    const candidates = tf.tensor2d([candidate]);
    const { ctx, queries } = context('tfjs', x0);
    const refined = await bisectTowardsOriginal(ctx, candidates, [0], 5);
    Array.from(refined.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(candidate[i]!, 6));
    expect(queries()).toBe(5);
    tf.dispose([x0, candidates, refined]);
  });
});
