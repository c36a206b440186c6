/**
 * What adversarialTraining returns: plain data (numbers, strings, arrays), so that a snapshot,
 * JSON.stringify or the reporter can show it as is.
 */
import type { TrainingMethod } from './options.js';

export interface ValidationRecord {
  /** Accuracy on the clean validation samples, in [0, 1]. */
  cleanAccuracy: number;
  /** Accuracy under `attack` at `epsilon` (an upper bound: a stronger attack may find more). */
  robustAccuracy: number;
  attack: string;
  epsilon: number;
  samples: number;
}

export interface EpochRecord {
  /** 1-based. */
  epoch: number;
  /** The budget trained against at the end of the epoch (below the target during warm-up). */
  epsilon: number;
  /** The learning rate of the epoch's last batch; null for a tf.Optimizer passed in (used as configured). */
  learningRate: number | null;
  /** Mean training loss over the epoch's batches (the method's own objective). */
  loss: number;
  /** Fraction of the epoch's training examples classified correctly after perturbation, before each step ('ibp': certified by the interval bounds). */
  adversarialAccuracy: number;
  batches: number;
  validation: ValidationRecord | null;
}

export interface TrainingHistory {
  method: TrainingMethod;
  /** The target budget, and the norm it is measured in. */
  epsilon: number;
  norm: string;
  /** How training examples were made: 'built-in L∞ PGD, 10 steps', an attack's description, … */
  generator: string;
  seed: number;
  backend: string;
  trainSamples: number;
  epochs: EpochRecord[];
  /** True when `signal` stopped training before the last epoch. */
  aborted: boolean;
}
