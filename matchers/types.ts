/**
 * The matcher signatures, once, for every framework's augmentation. `R` is what a synchronous
 * matcher returns in the framework (void, or Promise<void> under `.resolves`); the async matchers
 * always return a promise, so a forgotten `await` is a floating promise to the type checker too.
 */
import type { Attack } from '../src/attacks/types.js';
import type { Samples } from '../src/samples.js';
import type * as fc from 'fast-check';
import type { FuzzOptions, InvarianceOptions } from '../src/property/options.js';
import type { Perturbation } from '../src/property/perturbations/types.js';
import type { CertifyMethod } from '../src/certify/report.js';

export interface RobustAgainstOptions {
  /** The samples to attack: { inputs, labels }. */
  on: Samples;
  /** Smallest robust accuracy that passes, in [0, 1]. Default 1 (or configureRobustest's). */
  atLeast?: number;
  /** Seed of the attack run. Default 0 (or configureRobustest's). */
  seed?: number;
  /** Samples per batch. */
  batchSize?: number;
  /** Worker threads, as evaluate()'s option. Default 1 (or configureRobustest's). */
  workers?: number | 'auto';
}

export interface RobustAccuracyOptions {
  atLeast: number;
  /** One of the report's ε; may be omitted when the report has exactly one. */
  at?: number;
}

export interface RobustOptions {
  at?: number;
}

export interface RobustnessSnapshotOptions {
  /** Largest tolerated drop of robust accuracy at any stored ε. Default 0. */
  tolerance?: number;
}

export interface CertifiedRobustOptions {
  /** The samples to certify: { inputs, labels }. */
  on: Samples;
  /** Smallest certified accuracy that passes, in [0, 1]. Default 1 (or configureRobustest's). */
  atLeast?: number;
  /** Default 'auto': IBP, then CROWN, then α-CROWN where still uncertified. */
  method?: CertifyMethod;
  /** Default 'linf'. */
  norm?: 'linf' | 'l2';
  /** Runs on uncertified samples to tell broken from unproven. Default PGD in the same norm. */
  attack?: Attack;
  seed?: number;
}

export interface CertifiedRadiusOptions {
  on: Samples;
  atLeast?: number;
  /** Draws that estimate the class probability. Default 100,000. */
  n?: number;
  /** Draws that choose the class. Default 100. */
  n0?: number;
  /** Failure probability of each certificate. Default 0.001. */
  alpha?: number;
  batchSize?: number;
  seed?: number;
}

export interface DetectOptions {
  /** The samples to attack: { inputs, labels }. */
  on: Samples;
  /** Smallest detection rate that passes, in [0, 1]. Default 1 (or configureRobustest's atLeast). */
  atLeast?: number;
  /** Also attack classifier and detector together, and judge on that. Default true. */
  adaptive?: boolean;
  /** Seed of both attacks. Default 0 (or configureRobustest's). */
  seed?: number;
}

// `T` (the received type) is unused, and named so that it lines up with the frameworks' own.
// eslint-disable-next-line @typescript-eslint/no-unused-vars
export interface RobustestMatchers<R = void, T = unknown> {
  /** Attacks the received model (a Classifier or anything classifier() accepts). Async: await it. */
  toBeRobustAgainst(attack: Attack, epsilon: number, options: RobustAgainstOptions): Promise<void>;
  /** Minimization attacks without ε: robust means no adversarial at all. Async: await it. */
  toBeRobustAgainst(attack: Attack, options: RobustAgainstOptions): Promise<void>;
  /** On a RobustnessReport: robust accuracy at `at` is at least `atLeast`. */
  toHaveRobustAccuracy(options: RobustAccuracyOptions): R;
  /** On a RobustnessReport: robust accuracy at `at` is at least the configured `atLeast` (1). */
  toBeRobust(options?: RobustOptions): R;
  /** On a RobustnessReport: no robust accuracy fell more than `tolerance` below the stored curve. Async: await it. */
  toMatchRobustnessSnapshot(options?: RobustnessSnapshotOptions): Promise<void>;
  /** Fuzzes the received model with a perturbation arbitrary: no checked input may change class. Async: await it. */
  toBeRobustUnder(perturbation: fc.Arbitrary<Perturbation> | Perturbation, options: FuzzOptions): Promise<void>;
  /** A deterministic transform changes no prediction. Async: await it. */
  toBeInvariantUnder(transform: Perturbation, options: InvarianceOptions): Promise<void>;
  /** Sound bounds: at least `atLeast` of the samples provably keep their class within ε. Async: await it. */
  toBeCertifiedRobust(epsilon: number, options: CertifiedRobustOptions): Promise<void>;
  /** On smoothed(model, { sigma }): at least `atLeast` of the samples are right with a certified L2 radius ≥ r. Async: await it. */
  toHaveCertifiedRadius(radius: number, options: CertifiedRadiusOptions): Promise<void>;
  /** On a detector (featureSqueezing): at least `atLeast` of the successful adversarials are flagged. Async: await it. */
  toDetect(attack: Attack, epsilon: number, options: DetectOptions): Promise<void>;
}
