import type * as tf from '@tensorflow/tfjs-core';
import type { Classifier, ModelLike } from '../model/classifier.js';
import type { Norm } from '../norms.js';
import type { Samples } from '../samples.js';

/** What counts as adversarial. */
export type CriterionSpec =
  | 'misclassification'
  | { kind: 'misclassification' }
  | { kind: 'targeted' }
  | { kind: 'top-k'; k: number };

/** A target class for each sample, or a rule that picks one. */
export type TargetSpec = number | readonly number[] | 'random' | 'least-likely';

export interface AttackRunOptions {
  /** Perturbation budget in the attack's norm. Required for fixed-ε attacks. */
  epsilon?: number;
  /** Drives every random choice. Default 0. */
  seed?: number;
  /** Samples per batch. Default 256. */
  batchSize?: number;
  /**
   * Stable identities of the samples (default: their positions). Per-sample random streams are
   * keyed by them, so a sample gets the same randomness wherever it sits in a subset or batch.
   */
  sampleIds?: readonly number[];
  /** Cancels the run: it rejects with a RobustestError of code 'ABORTED' and frees what it made. */
  signal?: AbortSignal;
}

export interface AttackRun {
  /** Per sample: an adversarial was found (within epsilon when given). */
  success: boolean[];
  /** Per sample: ‖x_adv − x‖ in the attack's norm; Infinity where none was found. */
  distances: number[];
  /** Same shape as the inputs. Where no adversarial was found, the input itself. Caller disposes. */
  adversarials: tf.Tensor;
  /** Per sample: the class the model predicts for the adversarial (its clean prediction where none). */
  adversarialClasses: number[];
  /** Per sample: the model's softmax confidence in that class. */
  adversarialConfidences: number[];
  /** Per sample: the target class, for targeted runs. */
  targets: number[] | null;
  /** Model evaluations with gradients (counted per sample). */
  gradientEvaluations: number;
  /** Model evaluations without gradients, per sample. */
  queries: number[];
  /**
   * Per sample, for attacks that search a parameter (corruptions: { severity }; spatial:
   * { rotation, dx, dy }): the parameters of the adversarial returned; null where none was
   * found or the sample was already adversarial. Absent for other attacks.
   */
  parameters?: (Readonly<Record<string, number>> | null)[];
}

export interface Attack {
  /** Short name: 'FGSM', 'PGD', 'C&W', … */
  readonly name: string;
  readonly norm: Norm;
  /** Fixed-ε attacks need an epsilon; minimization attacks search for the smallest perturbation. */
  readonly kind: 'fixed-epsilon' | 'minimization';
  /** Whether the attack needs input gradients (white-box). */
  readonly requiresGradients: boolean;
  /** Options with every default filled in. */
  readonly options: Readonly<Record<string, unknown>>;
  /** One line: name, norm and the options that matter. */
  describe(): string;
  run(model: Classifier | ModelLike, samples: Samples, options?: AttackRunOptions): Promise<AttackRun>;
  /** How to build the same attack again (in a worker thread): its factory and the options given. */
  readonly recipe?: AttackRecipe;
}

export interface AttackRecipe {
  factory: string;
  options: unknown;
}
