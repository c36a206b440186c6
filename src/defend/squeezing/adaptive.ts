/**
 * The adaptive attack on a feature-squeezing detector (He et al. 2017; Carlini & Wagner 2017):
 * L∞ PGD on the classifier and the detector together. Its objective rewards misclassification
 * (the C&W margin, capped at κ so that a sample already misclassified spends its steps on the
 * detector) and penalises the squeeze scores, c·Σₛ‖softmax(f(x)) − softmax(f(s(x)))‖₁. Gradients
 * flow through f at x and at each s(x); through the squeezers themselves by BPDA (their identity
 * backward pass). The weight c of each sample doubles while it is misclassified but flagged and
 * halves while it is classified correctly, an online form of C&W's search over c.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../engine/random.js';
import { dispose } from '../../engine/hygiene.js';
import type { LossFn } from '../../engine/tfjs/types.js';
import { projectLinf } from '../training/examples.js';
import type { FeatureSqueezingDetector } from './detector.js';

export interface AdaptiveOptions {
  epsilon: number;
  /** Default 50. */
  steps?: number;
  /** Step size as a fraction of ε. Default 2.5 / steps. */
  relativeStepSize?: number;
  seed: number;
  /** Default the detector's batch size. */
  batchSize?: number;
}

export interface AdaptiveRun {
  /** Per sample: the candidate kept (misclassified and unflagged if one was found). Caller disposes. */
  adversarials: tf.Tensor;
  /** Per sample: the kept candidate is misclassified. */
  misclassified: boolean[];
  /** Per sample: the kept candidate is flagged by the detector. */
  flagged: boolean[];
}

export const ADAPTIVE_DEFAULTS = { steps: 50, travel: 2.5, margin: 2, initialWeight: 1, minWeight: 1 / 64, maxWeight: 1024 } as const;

const NEG = -1e9;

/** min(max_{j≠y} z_j − z_y, κ) per sample. */
function cappedMargin(z: tf.Tensor2D, oneHot: tf.Tensor2D, cap: number): tf.Tensor1D {
  const own = tf.sum(tf.mul(z, oneHot), 1);
  const other = tf.max(tf.add(z, tf.mul(oneHot, NEG)), 1);
  return tf.minimum(tf.sub(other, own), cap) as tf.Tensor1D;
}

function l1(p: tf.Tensor2D, q: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.abs(tf.sub(p, q)), 1) as tf.Tensor1D;
}

interface State {
  misclassified: boolean[];
  flagged: boolean[];
}

/** Softmax at x and at each squeezed x, and what they say: misclassified, flagged. */
async function look(detector: FeatureSqueezingDetector, x: tf.Tensor, labels: Int32Array): Promise<{ p: tf.Tensor2D; squeezed: tf.Tensor2D[]; state: State }> {
  const clf = detector.classifier;
  const z = await clf.logits(x);
  const p = tf.softmax(z);
  z.dispose();
  const squeezed: tf.Tensor2D[] = [];
  for (const s of detector.squeezers) {
    const xs = s.apply(x, clf.bounds);
    const zs = await clf.logits(xs);
    squeezed.push(tf.softmax(zs));
    tf.dispose([xs, zs]);
  }
  const [predicted, score] = tf.tidy(() => [tf.argMax(p, 1), tf.max(tf.stack(squeezed.map((q) => l1(p, q)), 1), 1)]);
  const classes = await predicted!.data();
  const scores = await score!.data();
  tf.dispose([predicted!, score!]);
  return {
    p,
    squeezed,
    state: {
      misclassified: Array.from(labels, (y, i) => classes[i] !== y),
      flagged: Array.from(scores as Float32Array, (s: number) => s > detector.threshold),
    },
  };
}

/** One batch: returns the kept candidates and their state. */
async function attackBatch(detector: FeatureSqueezingDetector, x: tf.Tensor, labels: Int32Array, ids: number[], options: Required<Omit<AdaptiveOptions, 'batchSize'>>): Promise<{ kept: tf.Tensor; state: State }> {
  const clf = detector.classifier;
  const n = labels.length;
  const first = tf.slice(x, 0, 1);
  const firstLogits = await clf.logits(first);
  const classes = firstLogits.shape[1];
  tf.dispose([first, firstLogits]);
  const oneHot = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), classes), 'float32') as tf.Tensor2D);
  const per = x.size / n;
  const noise = new Float32Array(x.size);
  ids.forEach((id, i) => new Rng(options.seed).split('adaptive').split(id).fillUniform(noise.subarray(i * per, (i + 1) * per), -options.epsilon, options.epsilon));
  let adv = tf.tidy(() => projectLinf(tf.add(x, tf.tensor(noise, x.shape)), x, options.epsilon, clf.bounds));
  let kept = tf.clone(x);
  const best: State = { misclassified: new Array<boolean>(n).fill(false), flagged: new Array<boolean>(n).fill(false) };
  const weights = new Float32Array(n).fill(ADAPTIVE_DEFAULTS.initialWeight);
  const stepSize = options.relativeStepSize * options.epsilon;
  const rank = (m: boolean, f: boolean) => (m ? (f ? 1 : 2) : 0);
  try {
    for (let step = 0; step <= options.steps; step++) {
      const { p, squeezed, state } = await look(detector, adv, labels);
      // Keep, per sample, the best candidate so far: misclassified and unflagged over misclassified over none.
      const better = state.misclassified.map((m, i) => rank(m, state.flagged[i]!) > rank(best.misclassified[i]!, best.flagged[i]!));
      if (better.some(Boolean)) {
        const mask = tf.tensor1d(better.map(Number), 'float32');
        const next = tf.tidy(() => tf.where(tf.cast(tf.reshape(mask, [n, ...new Array(x.rank - 1).fill(1)]), 'bool'), adv, kept));
        tf.dispose([mask, kept]);
        kept = next;
        better.forEach((b, i) => {
          if (!b) return;
          best.misclassified[i] = state.misclassified[i]!;
          best.flagged[i] = state.flagged[i]!;
        });
      }
      const done = best.misclassified.every((m, i) => m && !best.flagged[i]);
      if (step === options.steps || done) {
        tf.dispose([p, ...squeezed]);
        break;
      }
      state.misclassified.forEach((m, i) => {
        if (m && state.flagged[i]) weights[i] = Math.min(ADAPTIVE_DEFAULTS.maxWeight, weights[i]! * 2);
        else if (!m) weights[i] = Math.max(ADAPTIVE_DEFAULTS.minWeight, weights[i]! / 2);
      });
      const c = tf.tensor1d(weights);
      // The x branch: margin, and the squeeze scores with the squeezed predictions held fixed.
      const atX: LossFn = (z) =>
        tf.tidy(() => {
          const q = tf.softmax(z);
          const scores = squeezed.map((ps) => l1(q, ps)).reduce((a, b) => tf.add(a, b));
          return tf.sub(cappedMargin(z, oneHot, ADAPTIVE_DEFAULTS.margin), tf.mul(c, scores)) as tf.Tensor1D;
        });
      const direct = await clf.valueAndGradient(adv, atX);
      let gradient = direct.gradient;
      dispose(direct.logits, direct.loss);
      // Each squeezed branch, with the prediction at x held fixed, back through the squeezer by BPDA.
      for (const s of detector.squeezers) {
        const xs = s.apply(adv, clf.bounds);
        const atSqueezed: LossFn = (z) => tf.tidy(() => tf.neg(tf.mul(c, l1(p, tf.softmax(z)))) as tf.Tensor1D);
        const branch = await clf.valueAndGradient(xs, atSqueezed);
        const through = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(s.bpda(v, clf.bounds), branch.gradient)))(adv));
        const sum = tf.add(gradient, through);
        dispose(xs, branch.logits, branch.loss, branch.gradient, through, gradient);
        gradient = sum;
      }
      const next = tf.tidy(() => projectLinf(tf.add(adv, tf.mul(tf.sign(gradient), stepSize)), x, options.epsilon, clf.bounds));
      dispose(gradient, c, adv, p, ...squeezed);
      adv = next;
    }
    return { kept, state: best };
  } catch (error) {
    kept.dispose();
    throw error;
  } finally {
    dispose(adv, oneHot);
  }
}

/** Runs the adaptive attack on `inputs` (the caller's tensor, not disposed). */
export async function attackDetector(detector: FeatureSqueezingDetector, inputs: tf.Tensor, labels: Int32Array, options: AdaptiveOptions): Promise<AdaptiveRun> {
  const steps = options.steps ?? ADAPTIVE_DEFAULTS.steps;
  const resolved = { epsilon: options.epsilon, steps, relativeStepSize: options.relativeStepSize ?? ADAPTIVE_DEFAULTS.travel / steps, seed: options.seed };
  const batchSize = options.batchSize ?? detector.batchSize;
  const parts: tf.Tensor[] = [];
  const misclassified: boolean[] = [];
  const flagged: boolean[] = [];
  try {
    for (let start = 0; start < labels.length; start += batchSize) {
      const end = Math.min(labels.length, start + batchSize);
      const x = tf.slice(inputs, start, end - start);
      try {
        const ids = Array.from({ length: end - start }, (_, i) => start + i);
        const { kept, state } = await attackBatch(detector, x, labels.subarray(start, end), ids, resolved);
        parts.push(kept);
        misclassified.push(...state.misclassified);
        flagged.push(...state.flagged);
      } finally {
        x.dispose();
      }
    }
    return { adversarials: parts.length === 1 ? parts[0]! : tf.concat(parts), misclassified, flagged };
  } finally {
    if (parts.length > 1) dispose(...parts);
  }
}
