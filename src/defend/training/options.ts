/**
 * The options of adversarialTraining, their defaults in one place, and their checks. Checks run
 * before any tensor is made, so a typo fails at the call, not after an epoch of training.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show } from '../../errors.js';
import { checkChoice, checkInteger, checkKnownOptions, checkNumber } from '../../attacks/options.js';
import type { Attack } from '../../attacks/types.js';
import type { Samples } from '../../samples.js';
import type { EpochRecord } from './history.js';

export type TrainingMethod = 'pgd' | 'trades' | 'fgsm-rs' | 'ibp';
export type OptimizerName = 'adam' | 'sgd' | 'momentum';

export interface AdversarialTrainingOptions {
  /**
   * 'pgd' (Madry et al. 2018: train on the worst case found by L∞ PGD, or by `attack`), 'trades'
   * (Zhang et al. 2019: clean cross-entropy plus β·KL between clean and adversarial predictions),
   * 'fgsm-rs' (Wong et al. 2020: one signed-gradient step of 1.25ε from a random start), 'ibp'
   * (Gowal et al. 2018: interval bounds). Default 'pgd'.
   */
  method?: TrainingMethod;
  /** The budget trained for, in the attack's norm (L∞ for the built-in methods). */
  epsilon: number;
  /** ε grows linearly from 0 to `epsilon` over this many epochs (batch by batch). Default 0. */
  warmupEpochs?: number;
  /** 'pgd' only: any robustest attack, run at the current ε on every batch, replaces the built-in L∞ PGD. */
  attack?: Attack;
  /** Gradient steps of the built-in PGD and of TRADES' inner maximisation. Default 10. */
  steps?: number;
  /** Step size as a fraction of ε. Default 2.5 / steps (Madry et al.'s rule); 'fgsm-rs' uses 1.25. */
  relativeStepSize?: number;
  /** TRADES: weight of the robustness term. Default 6 (Zhang et al.'s MNIST and CIFAR setting). */
  beta?: number;
  /** 'ibp': weight of the clean loss once the warm-up is over (κ of Gowal et al., ramped from 1). Default 0.5. */
  kappa?: number;
  /** Default 10. */
  epochs?: number;
  /** Default 64. */
  batchSize?: number;
  /** Default 1e-3. */
  learningRate?: number;
  /** 'constant', or 'cosine' annealing to zero over the epochs (per batch). Default 'constant'. */
  schedule?: 'constant' | 'cosine';
  /** An optimizer name, or a tf.Optimizer the caller owns. Default 'adam'. */
  optimizer?: OptimizerName | tf.Optimizer;
  /** Held-out samples: after each epoch, clean accuracy and robust accuracy under `validationAttack` at `epsilon`. */
  validationData?: Samples;
  /** Default: pgd() with its defaults (L∞, 40 steps, random start). */
  validationAttack?: Attack;
  /** Drives the data order, random starts and validation attacks. Default 0. */
  seed?: number;
  /** Valid input range. Default [0, 1]. */
  bounds?: readonly [number, number];
  /** What the model outputs; 'auto' reads the last layer's activation. Default 'auto'. */
  outputs?: 'logits' | 'probabilities' | 'auto';
  /** Called after each epoch with its record; training waits for a returned promise. */
  onEpochEnd?: (record: EpochRecord) => void | Promise<void>;
  /** A progress bar on stderr: 'auto' shows one on a terminal, never under CI. Default 'auto'. */
  progress?: boolean | 'auto';
  /** Stops after the current batch; the history so far is returned with `aborted: true`. */
  signal?: AbortSignal;
}

export const TRAINING_DEFAULTS = {
  method: 'pgd',
  warmupEpochs: 0,
  steps: 10,
  travel: 2.5,
  fgsmStep: 1.25,
  beta: 6,
  kappa: 0.5,
  epochs: 10,
  batchSize: 64,
  learningRate: 1e-3,
  schedule: 'constant',
  optimizer: 'adam',
  seed: 0,
  bounds: [0, 1],
  outputs: 'auto',
  progress: 'auto',
} as const;

export interface ResolvedTrainingOptions {
  method: TrainingMethod;
  epsilon: number;
  warmupEpochs: number;
  attack: Attack | undefined;
  steps: number;
  stepSize: number;
  beta: number;
  kappa: number;
  epochs: number;
  batchSize: number;
  learningRate: number;
  schedule: 'constant' | 'cosine';
  optimizer: OptimizerName | tf.Optimizer;
  validationData: Samples | undefined;
  validationAttack: Attack | undefined;
  seed: number;
  bounds: readonly [number, number];
  outputs: 'logits' | 'probabilities' | 'auto';
  onEpochEnd: AdversarialTrainingOptions['onEpochEnd'];
  progress: boolean | 'auto';
  signal: AbortSignal | undefined;
}

const KNOWN = [
  'method', 'epsilon', 'warmupEpochs', 'attack', 'steps', 'relativeStepSize', 'beta', 'kappa', 'epochs', 'batchSize',
  'learningRate', 'schedule', 'optimizer', 'validationData', 'validationAttack', 'seed', 'bounds', 'outputs',
  'onEpochEnd', 'progress', 'signal',
];
const WHERE = 'adversarialTraining';

function isAttack(value: unknown): value is Attack {
  return typeof value === 'object' && value !== null && typeof (value as Attack).run === 'function' && typeof (value as Attack).describe === 'function';
}

function isOptimizer(value: unknown): value is tf.Optimizer {
  return typeof value === 'object' && value !== null && typeof (value as tf.Optimizer).minimize === 'function';
}

export function resolveTrainingOptions(options: AdversarialTrainingOptions | undefined): ResolvedTrainingOptions {
  if (options === undefined || options === null || typeof options !== 'object') {
    throw new RobustestError('INVALID_OPTION', `${WHERE}() needs an options object with at least \`epsilon\`.`, {
      expected: "{ epsilon: 0.1, method: 'pgd', … }",
      received: show(options),
    });
  }
  checkKnownOptions(options, KNOWN, WHERE);
  const method = checkChoice(options.method ?? TRAINING_DEFAULTS.method, ['pgd', 'trades', 'fgsm-rs', 'ibp'] as const, 'method', WHERE);
  const epsilon = checkNumber(options.epsilon, 'epsilon', WHERE, 0, Infinity, true);
  const epochs = checkInteger(options.epochs ?? TRAINING_DEFAULTS.epochs, 'epochs', WHERE, 1);
  const warmupEpochs = checkNumber(options.warmupEpochs ?? TRAINING_DEFAULTS.warmupEpochs, 'warmupEpochs', WHERE, 0, epochs);
  if (options.attack !== undefined) {
    if (!isAttack(options.attack)) {
      throw new RobustestError('INVALID_OPTION', `${WHERE}(): \`attack\` must be a robustest attack.`, { expected: 'pgd(), apgd(), fgsm(), …', received: show(options.attack) });
    }
    if (method !== 'pgd') {
      throw new RobustestError('INVALID_OPTION', `${WHERE}(): \`attack\` applies to method 'pgd' only; '${method}' generates its own examples.`, {
        expected: "method: 'pgd' with an attack, or no attack",
        received: `method '${method}' with ${options.attack.describe()}`,
      });
    }
    if (options.attack.kind !== 'fixed-epsilon') {
      throw new RobustestError('INVALID_OPTION', `${WHERE}(): training needs a fixed-ε attack, one that stays inside the budget.`, {
        expected: 'pgd(), apgd(), fgsm(), mifgsm(), square(), …',
        received: `${options.attack.describe()} (a minimization attack)`,
      });
    }
  }
  if (options.validationAttack !== undefined && !isAttack(options.validationAttack)) {
    throw new RobustestError('INVALID_OPTION', `${WHERE}(): \`validationAttack\` must be a robustest attack.`, { expected: 'pgd(), apgd(), …', received: show(options.validationAttack) });
  }
  const steps = checkInteger(options.steps ?? TRAINING_DEFAULTS.steps, 'steps', WHERE, 1);
  const relative = options.relativeStepSize ?? (method === 'fgsm-rs' ? TRAINING_DEFAULTS.fgsmStep : TRAINING_DEFAULTS.travel / steps);
  const stepSize = checkNumber(relative, 'relativeStepSize', WHERE, 0, Infinity, true);
  const optimizer = options.optimizer ?? TRAINING_DEFAULTS.optimizer;
  if (!isOptimizer(optimizer)) checkChoice(optimizer, ['adam', 'sgd', 'momentum'] as const, 'optimizer', WHERE);
  const bounds = options.bounds ?? TRAINING_DEFAULTS.bounds;
  if (!Array.isArray(bounds) || bounds.length !== 2 || !bounds.every((b) => Number.isFinite(b)) || !(bounds[0] < bounds[1])) {
    throw new RobustestError('INVALID_OPTION', `${WHERE}(): \`bounds\` must be [low, high] with low < high.`, { expected: '[0, 1]', received: show(bounds) });
  }
  const progress = options.progress ?? TRAINING_DEFAULTS.progress;
  if (progress !== true && progress !== false && progress !== 'auto') {
    throw new RobustestError('INVALID_OPTION', `${WHERE}(): unsupported \`progress\`.`, { expected: "true | false | 'auto'", received: show(progress) });
  }
  if (options.onEpochEnd !== undefined && typeof options.onEpochEnd !== 'function') {
    throw new RobustestError('INVALID_OPTION', `${WHERE}(): \`onEpochEnd\` must be a function.`, { expected: '(record) => void', received: show(options.onEpochEnd) });
  }
  const seed = options.seed ?? TRAINING_DEFAULTS.seed;
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw new RobustestError('INVALID_OPTION', `${WHERE}(): \`seed\` must be an integer.`, { expected: 'an integer', received: show(seed) });
  }
  return {
    method,
    epsilon,
    warmupEpochs,
    attack: options.attack,
    steps,
    stepSize,
    beta: checkNumber(options.beta ?? TRAINING_DEFAULTS.beta, 'beta', WHERE, 0),
    kappa: checkNumber(options.kappa ?? TRAINING_DEFAULTS.kappa, 'kappa', WHERE, 0, 1),
    epochs,
    batchSize: checkInteger(options.batchSize ?? TRAINING_DEFAULTS.batchSize, 'batchSize', WHERE, 1),
    learningRate: checkNumber(options.learningRate ?? TRAINING_DEFAULTS.learningRate, 'learningRate', WHERE, 0, Infinity, true),
    schedule: checkChoice(options.schedule ?? TRAINING_DEFAULTS.schedule, ['constant', 'cosine'] as const, 'schedule', WHERE),
    optimizer,
    validationData: options.validationData,
    validationAttack: options.validationAttack,
    seed,
    bounds: [bounds[0], bounds[1]],
    outputs: checkChoice(options.outputs ?? TRAINING_DEFAULTS.outputs, ['logits', 'probabilities', 'auto'] as const, 'outputs', WHERE),
    onEpochEnd: options.onEpochEnd,
    progress,
    signal: options.signal,
  };
}
