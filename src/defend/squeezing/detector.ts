/**
 * featureSqueezing(model, options): a detector of manipulated inputs (Xu, Evans and Qi, NDSS
 * 2018). An input is flagged when the model's prediction moves, in L1 over the softmax, by more
 * than a threshold once the input is squeezed; the threshold is calibrated on clean inputs for a
 * requested false-positive rate.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show } from '../../errors.js';
import { classifier, type Classifier, type ClassifierOptions, type ModelLike } from '../../model/classifier.js';
import type { NestedArray, Samples } from '../../samples.js';
import { ownedSamples } from '../owned-samples.js';
import { checkKnownOptions, checkInteger, checkNumber } from '../../attacks/options.js';
import { calibrate, type Calibration } from './calibration.js';
import { squeezeScores } from './scores.js';
import { bitDepth, median, type Squeezer } from './squeezers.js';

export interface FeatureSqueezingOptions {
  /** Default [bitDepth(1), median(2)]: Xu et al.'s joint detector for MNIST. */
  squeezers?: readonly Squeezer[];
  /** Fraction of clean inputs flagged, in (0, 1). Default 0.05. */
  falsePositiveRate?: number;
  /** Clean inputs the threshold is chosen on: { inputs, labels } or the inputs alone (labels are not used). */
  calibrateOn: Samples | tf.Tensor | NestedArray[];
  /** Valid input range. Default [0, 1]. */
  bounds?: ClassifierOptions['bounds'];
  outputs?: ClassifierOptions['outputs'];
  /** Inputs per model call. Default 256. */
  batchSize?: number;
}

export interface Detection {
  /** Per input: the joint score (maximum over squeezers of the L1 change of the softmax). */
  scores: number[];
  /** Per input: score above the threshold. */
  flags: boolean[];
  /** Per squeezer name: the per-input scores. */
  squeezerScores: Record<string, number[]>;
  threshold: number;
}

export interface FeatureSqueezingDetector {
  readonly kind: 'feature-squeezing';
  readonly classifier: Classifier;
  readonly squeezers: readonly Squeezer[];
  readonly threshold: number;
  readonly calibration: Calibration;
  readonly batchSize: number;
  /** Scores and flags for a batch of inputs (a tensor or nested arrays, like samples' inputs). */
  detect(inputs: tf.Tensor | NestedArray[]): Promise<Detection>;
  /** One line: squeezers, threshold, false-positive rates. */
  describe(): string;
}

const DETECTOR = Symbol.for('robustest.detector');
const WHERE = 'featureSqueezing';
export const FEATURE_SQUEEZING_DEFAULTS = { falsePositiveRate: 0.05, batchSize: 256 } as const;

export function isDetector(value: unknown): value is FeatureSqueezingDetector {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[DETECTOR] === true;
}

function checkSqueezers(squeezers: unknown): readonly Squeezer[] {
  const ok = Array.isArray(squeezers) && squeezers.length > 0 && squeezers.every((s) => typeof s === 'object' && s !== null && typeof (s as Squeezer).apply === 'function' && typeof (s as Squeezer).bpda === 'function');
  if (!ok) {
    throw new RobustestError('INVALID_OPTION', `${WHERE}(): \`squeezers\` must be a non-empty array of squeezers.`, {
      expected: '[squeezers.bitDepth(1), squeezers.median(2)]',
      received: show(squeezers),
    });
  }
  return squeezers as Squeezer[];
}

async function inputsOf(clf: Classifier, raw: unknown, where: string): Promise<tf.Tensor> {
  const samples = typeof raw === 'object' && raw !== null && 'inputs' in raw ? (raw as Samples) : undefined;
  const inputs = samples ? samples.inputs : (raw as Samples['inputs']);
  const n = inputs instanceof tf.Tensor ? inputs.shape[0] : Array.isArray(inputs) ? inputs.length : 0;
  // Labels only matter for attacks; zeros pass the label checks of prepareSamples.
  const prepared = await ownedSamples(clf, { inputs, labels: samples?.labels ?? new Array<number>(n).fill(0) }, where);
  return prepared.inputs;
}

/** Builds and calibrates a feature-squeezing detector for `model`. */
export async function featureSqueezing(model: ModelLike, options: FeatureSqueezingOptions): Promise<FeatureSqueezingDetector> {
  if (options === undefined || options === null || typeof options !== 'object' || options.calibrateOn === undefined) {
    throw new RobustestError('INVALID_OPTION', `${WHERE}() needs clean inputs to calibrate its threshold on.`, {
      expected: '{ calibrateOn: { inputs, labels } }',
      received: show(options?.calibrateOn),
    });
  }
  checkKnownOptions(options, ['squeezers', 'falsePositiveRate', 'calibrateOn', 'bounds', 'outputs', 'batchSize'], WHERE);
  const squeezers = checkSqueezers(options.squeezers ?? [bitDepth(1), median(2)]);
  const rate = checkNumber(options.falsePositiveRate ?? FEATURE_SQUEEZING_DEFAULTS.falsePositiveRate, 'falsePositiveRate', WHERE, 0, 1, true);
  const batchSize = checkInteger(options.batchSize ?? FEATURE_SQUEEZING_DEFAULTS.batchSize, 'batchSize', WHERE, 1);
  const clf = classifier(model, { bounds: options.bounds, outputs: options.outputs });
  const clean = await inputsOf(clf, options.calibrateOn, `${WHERE}() calibrateOn`);
  let calibration: Calibration;
  try {
    if (clean.shape[0] < 2) {
      throw new RobustestError('INVALID_OPTION', `${WHERE}(): calibration needs several clean inputs.`, { expected: 'at least 2 (hundreds for a stable threshold)', received: `${clean.shape[0]}` });
    }
    const scores = await squeezeScores(clf, squeezers, clean, batchSize);
    calibration = calibrate(scores.joint, rate);
  } finally {
    clean.dispose();
  }
  const { threshold } = calibration;
  const detector: FeatureSqueezingDetector & { [DETECTOR]: true } = {
    [DETECTOR]: true,
    kind: 'feature-squeezing',
    classifier: clf,
    squeezers,
    threshold,
    calibration,
    batchSize,
    async detect(inputs) {
      const x = await inputsOf(clf, inputs, 'detect()');
      try {
        const scores = await squeezeScores(clf, squeezers, x, batchSize);
        return {
          scores: scores.joint,
          flags: scores.joint.map((s) => s > threshold),
          squeezerScores: Object.fromEntries(squeezers.map((s, k) => [s.name, scores.perSqueezer[k]!])),
          threshold,
        };
      } finally {
        x.dispose();
      }
    },
    describe() {
      const pct = (v: number) => `${(v * 100).toFixed(1)}%`;
      return (
        `feature squeezing (${squeezers.map((s) => s.name).join(', ')}; joint max), threshold ${threshold.toPrecision(4)} ` +
        `for ${pct(calibration.requestedFalsePositiveRate)} false positives (${pct(calibration.achievedFalsePositiveRate)} on ${calibration.samples} calibration inputs)`
      );
    },
  };
  return Object.freeze(detector);
}
