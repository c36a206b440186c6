/**
 * Randomized smoothing (Cohen, Rosenfeld & Kolter 2019): the smoothed classifier predicts the
 * class the base classifier returns most often under Gaussian noise N(0, σ²I). Its `predict` and
 * `certifySmoothed` follow their PREDICT and CERTIFY: n0 noisy draws pick the class, n more
 * estimate its probability, the Clopper–Pearson lower bound p at confidence 1 − α gives the
 * certified L2 radius σ·Φ⁻¹(p), and the sample abstains when p < 1/2. Noise is drawn from the
 * seeded generator, per sample, so a run replays bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import betaQuantile from '@stdlib/stats-base-dists-beta-quantile';
import normalQuantile from '@stdlib/stats-base-dists-normal-quantile';
import binomialTest from '@stdlib/stats-binomial-test';
import { RobustestError, show } from '../errors.js';
import { dispose, scoped, throwIfAborted } from '../engine/hygiene.js';
import { Rng } from '../engine/random.js';
import { classifier, type Classifier, type ModelLike } from '../model/classifier.js';
import { prepareSamples, type Samples } from '../samples.js';

/** Returned for a sample the smoothed classifier abstains on. */
export const ABSTAIN = -1;

const SMOOTHED = Symbol.for('robustest.smoothed');

export interface SmoothedClassifier {
  readonly [SMOOTHED]: true;
  readonly base: Classifier;
  readonly sigma: number;
  /**
   * Cohen et al.'s PREDICT: the class, or ABSTAIN when the top two classes' counts do not differ
   * at level α (two-sided binomial test).
   */
  predict(inputs: Samples['inputs'], options?: SmoothedPredictOptions): Promise<number[]>;
}

export interface SmoothedPredictOptions {
  /** Noisy draws per input. Default 1000. */
  n?: number;
  /** Default 0.001. */
  alpha?: number;
  batchSize?: number;
  seed?: number;
}

export interface CertifySmoothedOptions {
  /** Draws that choose the class. Default 100. */
  n0?: number;
  /** Draws that estimate its probability. Default 100,000. */
  n?: number;
  /** Failure probability of each certificate. Default 0.001. */
  alpha?: number;
  /** Noisy inputs per forward pass. Default 1000. */
  batchSize?: number;
  seed?: number;
  /** L2 radii at which to report certified accuracy. */
  radii?: readonly number[];
  signal?: AbortSignal;
  /** Called after each batch with draws done and total draws of the run. */
  onProgress?: (done: number, total: number) => void;
}

export interface SmoothedSample {
  index: number;
  label: number;
  /** The smoothed prediction, or ABSTAIN (-1). */
  prediction: number;
  /** Certified L2 radius (0 when abstaining). */
  radius: number;
  /** Draws of the predicted class among the n estimation draws, and the lower bound of its probability. */
  count: number;
  pLower: number;
  correct: boolean;
}

export interface SmoothingReport {
  sigma: number;
  n0: number;
  n: number;
  alpha: number;
  count: number;
  radii: number[];
  /** Per radius: correct and certified with a radius at least that large. */
  certifiedAccuracy: number[];
  samples: SmoothedSample[];
  seed: number;
  seconds: number;
  backend: string;
}

export function isSmoothed(value: unknown): value is SmoothedClassifier {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[SMOOTHED] === true;
}

function positiveInteger(value: unknown, name: string, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new RobustestError('INVALID_OPTION', `${where}: ${name} must be a positive integer.`, { expected: 'an integer ≥ 1', received: show(value) });
  }
  return value;
}

function checkAlpha(value: unknown, where: string): number {
  if (typeof value !== 'number' || !(value > 0 && value < 1)) throw new RobustestError('INVALID_OPTION', `${where}: alpha is a probability.`, { expected: 'a number in (0, 1)', received: show(value) });
  return value;
}

/** The classifier smoothed with isotropic Gaussian noise of standard deviation `sigma`. */
export function smoothed(model: Classifier | ModelLike, options: { sigma: number }): SmoothedClassifier {
  const sigma = options?.sigma;
  if (typeof sigma !== 'number' || !(sigma > 0) || !Number.isFinite(sigma)) {
    throw new RobustestError('INVALID_OPTION', 'smoothed(): sigma is the standard deviation of the noise.', { expected: 'a finite number > 0', received: show(sigma) });
  }
  const base = classifier(model);
  const self: SmoothedClassifier = {
    [SMOOTHED]: true,
    base,
    sigma,
    predict: (inputs, o = {}) =>
      scoped(async () => {
        const n = positiveInteger(o.n ?? 1000, 'n', 'predict()');
        const alpha = checkAlpha(o.alpha ?? 0.001, 'predict()');
        const batchSize = positiveInteger(o.batchSize ?? 1000, 'batchSize', 'predict()');
        const rng = new Rng(o.seed ?? 0);
        const x = await inputRows(inputs);
        return Promise.all(
          x.rows.map(async (row, i) => {
            const counts = await noisyCounts(base, row, x.shape, sigma, n, batchSize, rng.split(i).split('predict'));
            const [first, second] = topTwo(counts);
            const c1 = counts[first]!;
            const c2 = counts[second] ?? 0;
            return binomialTest([c1, c2], { p: 0.5 }).pValue > alpha ? ABSTAIN : first;
          }),
        );
      }),
  };
  return self;
}

/** Clopper–Pearson lower bound of a binomial proportion, one-sided at level alpha. */
export function clopperPearsonLower(successes: number, trials: number, alpha: number): number {
  return successes === 0 ? 0 : betaQuantile(alpha, successes, trials - successes + 1);
}

/** Certified L2 radius for a lower bound pLower of the top class's probability; 0 below 1/2. */
export function smoothingRadius(sigma: number, pLower: number): number {
  return pLower < 0.5 ? 0 : sigma * normalQuantile(pLower, 0, 1);
}

export async function certifySmoothed(model: SmoothedClassifier, samples: Samples, options: CertifySmoothedOptions = {}): Promise<SmoothingReport> {
  const started = performance.now();
  const where = 'certifySmoothed()';
  if (!isSmoothed(model)) {
    throw new RobustestError('INVALID_MODEL', `${where} takes a smoothed classifier.`, { expected: 'smoothed(model, { sigma })', received: show(model) });
  }
  const n0 = positiveInteger(options.n0 ?? 100, 'n0', where);
  const n = positiveInteger(options.n ?? 100_000, 'n', where);
  const alpha = checkAlpha(options.alpha ?? 0.001, where);
  const batchSize = positiveInteger(options.batchSize ?? 1000, 'batchSize', where);
  const seed = options.seed ?? 0;
  const radii = [...(options.radii ?? [0])];
  if (!radii.every((r) => typeof r === 'number' && r >= 0)) throw new RobustestError('INVALID_OPTION', `${where}: radii are L2 distances.`, { expected: 'numbers ≥ 0', received: show(radii) });
  const base = model.base;
  return scoped(async ({ backend }) => {
    const prepared = await prepareSamples(base, samples);
    const x = await inputRows(prepared.inputs);
    const rng = new Rng(seed);
    const total = prepared.count * (n0 + n);
    let done = 0;
    const progress = (draws: number) => {
      done += draws;
      options.onProgress?.(done, total);
    };
    const rows: SmoothedSample[] = [];
    for (let i = 0; i < prepared.count; i++) {
      const stream = rng.split(i);
      const selection = await noisyCounts(base, x.rows[i]!, x.shape, model.sigma, n0, batchSize, stream.split('selection'), progress);
      const guess = topTwo(selection)[0];
      const estimation = await noisyCounts(base, x.rows[i]!, x.shape, model.sigma, n, batchSize, stream.split('estimation'), progress);
      const count = estimation[guess] ?? 0;
      const pLower = clopperPearsonLower(count, n, alpha);
      const prediction = pLower < 0.5 ? ABSTAIN : guess;
      const label = prepared.labels[i]!;
      rows.push({ index: i, label, prediction, radius: prediction === ABSTAIN ? 0 : smoothingRadius(model.sigma, pLower), count, pLower, correct: prediction === label });
    }
    return {
      sigma: model.sigma,
      n0,
      n,
      alpha,
      count: prepared.count,
      radii,
      // Cohen et al.'s certified accuracy at r: correct, and a radius of at least r.
      certifiedAccuracy: radii.map((r) => rows.filter((s) => s.correct && s.radius >= r).length / prepared.count),
      samples: rows,
      seed,
      seconds: (performance.now() - started) / 1000,
      backend,
    };
  }, options.signal);
}

async function inputRows(inputs: Samples['inputs'] | tf.Tensor): Promise<{ rows: Float32Array[]; shape: number[] }> {
  let t: tf.Tensor;
  if (inputs instanceof tf.Tensor) t = inputs;
  else if (Array.isArray(inputs)) t = tf.tensor(inputs as number[][]);
  else throw new RobustestError('INVALID_SHAPE', 'predict(): inputs must be a tensor or nested arrays, one row per input.', { expected: '[N, ...inputShape]', received: show(inputs) });
  const data = (await t.data()) as Float32Array;
  const count = t.shape[0]!;
  const per = data.length / count;
  return { rows: Array.from({ length: count }, (_, i) => data.slice(i * per, (i + 1) * per)), shape: t.shape.slice(1) };
}

/** Class counts of the base classifier over `draws` noisy copies of one input. */
async function noisyCounts(base: Classifier, row: Float32Array, shape: number[], sigma: number, draws: number, batchSize: number, rng: Rng, progress?: (draws: number) => void): Promise<number[]> {
  const counts: number[] = [];
  for (let start = 0; start < draws; start += batchSize) {
    throwIfAborted();
    const size = Math.min(batchSize, draws - start);
    const noisy = new Float32Array(size * row.length);
    // Each batch draws from its own stream, keyed by its first draw: same seed and batch size, same noise.
    rng.split(start).fillNormal(noisy, sigma);
    for (let k = 0; k < size; k++) for (let j = 0; j < row.length; j++) noisy[k * row.length + j]! += row[j]!;
    const batch = tf.tensor(noisy, [size, ...shape]);
    const logits = await base.logits(batch);
    const classes = logits.shape[1];
    const z = await logits.data();
    dispose(batch, logits);
    for (let k = 0; k < size; k++) {
      let best = 0;
      for (let j = 1; j < classes; j++) if (z[k * classes + j]! > z[k * classes + best]!) best = j;
      counts[best] = (counts[best] ?? 0) + 1;
    }
    progress?.(size);
  }
  return counts;
}

/** The two classes counted most often (ties: the lower class index first). */
function topTwo(counts: number[]): [number, number] {
  let first = -1;
  let second = -1;
  counts.forEach((c, k) => {
    if (c === undefined) return;
    if (first < 0 || c > counts[first]!) {
      second = first;
      first = k;
    } else if (second < 0 || c > counts[second]!) second = k;
  });
  return [Math.max(first, 0), second];
}
