/**
 * Shared fixtures of the black-box attack tests: the ONNX fixture's tfjs twin as an MNIST model,
 * analytic linear models, and an independent re-check of every adversarial an attack claims.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import type { AttackRun } from '../../src/index.js';
import { mnistSplit } from '../../examples/mnist/data.js';
import { tfjsTwin, type FixtureName } from '../fixtures/onnx/twin.js';

const twins = new Map<FixtureName, tf.LayersModel>();

/** The fixture CNN (94% train accuracy) as a tfjs model; shared, never disposed. */
export function twin(name: FixtureName = 'mnist-cnn'): tf.LayersModel {
  if (!twins.has(name)) twins.set(name, tfjsTwin(name));
  return twins.get(name)!;
}

/** The first n test digits that the model classifies correctly (so every sample is attacked). */
export function correctDigits(model: tf.LayersModel, n: number): { inputs: tf.Tensor4D; labels: number[] } {
  const pool = mnistSplit('test', 4 * n);
  const all = tf.tensor4d(pool.images, [pool.count, 28, 28, 1]);
  const predicted = tf.tidy(() => tf.argMax(model.predict(all) as tf.Tensor, 1).dataSync());
  const keep: number[] = [];
  for (let i = 0; i < pool.count && keep.length < n; i++) if (predicted[i] === pool.labels[i]) keep.push(i);
  const inputs = tf.gather(all, keep) as tf.Tensor4D;
  all.dispose();
  return { inputs, labels: keep.map((i) => pool.labels[i]!) };
}

/** Runs `body` and checks it leaves no tensor behind apart from those it returns for disposal. */
export async function noLeak<T>(body: () => Promise<T>, owned: (result: T) => tf.Tensor[] = () => []): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await body();
  const kept = owned(result).length;
  expect(tf.memory().numTensors - kept).toBe(before);
  return result;
}

export interface RecheckSpec {
  predict: (x: tf.Tensor) => tf.Tensor;
  inputs: tf.Tensor;
  labels: ArrayLike<number>;
  bounds?: [number, number];
  norm: 'linf' | 'l2' | 'l0';
  epsilon?: number;
  targets?: ArrayLike<number> | null;
  /** Upper bound on the pixels (positions, any channel) an adversarial may change. */
  pixels?: number;
}

/**
 * Independent of the library: each claimed adversarial is classified by the model itself and
 * must be misclassified (or on target), inside the bounds, within ε, at the reported distance
 * (recomputed here), and change at most `pixels` pixels. Where the run claims nothing, the
 * returned input must be the original. Returns the number of successes.
 */
export async function recheck(run: AttackRun, spec: RecheckSpec): Promise<number> {
  const [low, high] = spec.bounds ?? [0, 1];
  const n = spec.inputs.shape[0];
  const channels = spec.inputs.rank === 4 ? spec.inputs.shape[3]! : 1;
  const [z, adv, x] = tf.tidy(() => [spec.predict(run.adversarials), tf.reshape(run.adversarials, [n, -1]), tf.reshape(spec.inputs, [n, -1])]);
  const logits = (await z!.array()) as number[][];
  const a = (await adv!.array()) as number[][];
  const o = (await x!.array()) as number[][];
  tf.dispose([z!, adv!, x!]);
  let successes = 0;
  for (let i = 0; i < n; i++) {
    const delta = a[i]!.map((v, k) => v - o[i]![k]!);
    if (!run.success[i]) {
      expect(run.distances[i]).toBe(Infinity);
      expect(Math.max(...delta.map(Math.abs))).toBe(0);
      continue;
    }
    successes++;
    const predicted = logits[i]!.indexOf(Math.max(...logits[i]!));
    if (spec.targets) expect(predicted, `sample ${i} on target`).toBe(spec.targets[i]);
    else expect(predicted, `sample ${i} misclassified`).not.toBe(spec.labels[i]);
    expect(Math.min(...a[i]!)).toBeGreaterThanOrEqual(low - 1e-6);
    expect(Math.max(...a[i]!)).toBeLessThanOrEqual(high + 1e-6);
    const distance =
      spec.norm === 'linf'
        ? Math.max(...delta.map(Math.abs))
        : spec.norm === 'l2'
          ? Math.sqrt(delta.reduce((s, d) => s + d * d, 0))
          : delta.filter((d) => d !== 0).length;
    expect(run.distances[i]).toBeCloseTo(distance, 4);
    if (spec.epsilon !== undefined) expect(distance).toBeLessThanOrEqual(spec.epsilon + 1e-6);
    if (spec.pixels !== undefined) {
      let changed = 0;
      for (let p = 0; p < delta.length / channels; p++) if (delta.slice(p * channels, (p + 1) * channels).some((d) => d !== 0)) changed++;
      expect(changed, `sample ${i} pixels changed`).toBeLessThanOrEqual(spec.pixels);
    }
  }
  return successes;
}

/** Byte-identical adversarials, distances and query counts. */
export async function expectSameRun(a: AttackRun, b: AttackRun): Promise<void> {
  expect(b.success).toEqual(a.success);
  expect(b.distances).toEqual(a.distances);
  expect(b.queries).toEqual(a.queries);
  expect(Array.from(await b.adversarials.data())).toEqual(Array.from(await a.adversarials.data()));
}

/** A linear classifier z = W x + b over [N, features], as a plain function. */
export function linearModel(W: number[][], b: number[]): (x: tf.Tensor) => tf.Tensor {
  const features = W[0]!.length;
  return (x) => tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], features]), tf.tensor2d(W), false, true), tf.tensor1d(b)));
}

/** A seeded matrix with entries uniform in [−1, 1]. */
export function seededMatrix(rows: number, cols: number, seed: number): number[][] {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
  return Array.from({ length: rows }, () => Array.from({ length: cols }, next));
}
