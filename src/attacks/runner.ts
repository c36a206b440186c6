/**
 * The shared part of every attack: argument checks, batching, per-sample randomness, counting,
 * and the re-check of every claimed adversarial by running the model again (misclassified or on
 * target, inside bounds, within ε). An attack only proposes candidates; the runner decides.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show } from '../errors.js';
import { scoped, throwIfAborted } from '../engine/hygiene.js';
import { checkKnownOptions } from './options.js';
import { batchSizeFor, inBatches, logitsInBatches } from '../engine/batches.js';
import { DEFAULT_SEED, Rng } from '../engine/random.js';
import { classifier, verdictLogits, type Classifier, type ModelLike } from '../model/classifier.js';
import { checkEpsilon, prepareSamples, type Samples } from '../samples.js';
import type { Norm } from '../norms.js';
import { candidateStats } from './candidate-stats.js';
import type { GradientResult, LossFn } from '../engine/tfjs/types.js';
import type { HostGradient } from '../engine/host-gradient.js';
import { adversarialMask, adversarialMaskOf, argmaxRow, resolveCriterion, resolveTargets, type Criterion } from './criteria.js';
import type { Attack, AttackRun, AttackRunOptions, CriterionSpec, TargetSpec } from './types.js';
import { replaceRows, takeRows } from '../engine/tfjs/rows.js';

/** Tolerance for float error in the ε and bounds re-checks. */
export const VERIFY_TOLERANCE = 1e-6;

export interface AttackContext {
  readonly clf: Classifier;
  /** Originals of the samples under attack in this batch. */
  readonly x: tf.Tensor;
  readonly labels: Int32Array;
  readonly targets: Int32Array | null;
  readonly criterion: Criterion;
  readonly epsilon: number | undefined;
  readonly bounds: readonly [number, number];
  readonly norm: Norm;
  /** Stream for sample `i` of this batch (keyed by its index in the whole set). */
  sampleRng(i: number): Rng;
  /** Logits, counting one query per row; `rows` maps rows to batch samples (default: all). */
  logits(x: tf.Tensor, rows?: readonly number[]): Promise<tf.Tensor2D>;
  /**
   * Logits from the model's own runtime, the one final verdicts are taken on (Classifier's
   * verdictLogits); the same as `logits` unless another executor runs the model.
   */
  verdictLogits(x: tf.Tensor, rows?: readonly number[]): Promise<tf.Tensor2D>;
  /** Input gradient of a per-sample loss, counting one gradient evaluation per row. */
  gradient(x: tf.Tensor, loss: LossFn, rows?: readonly number[]): Promise<GradientResult>;
  /**
   * The executor's host gradient of `loss` (Classifier.hostGradient), counting one gradient
   * evaluation per row; null where the executor has none.
   */
  hostGradient(loss: LossFn): Promise<HostGradient | null>;
  /** The criterion's verdict on logits (a tensor, or its values on the host) for the given batch samples. */
  isAdversarial(logits: tf.Tensor2D | Float32Array, rows?: readonly number[]): boolean[];
  /** A [rows, ...] tensor of per-sample uniform noise in [low, high). */
  uniform(rows: readonly number[], low: number, high: number, stream: string): tf.Tensor;
  /** A [rows, ...] tensor of per-sample standard normal noise. */
  normal(rows: readonly number[], stream: string): tf.Tensor;
  /** Records the attack parameters (e.g. a severity) of batch sample i's candidate, reported as run.parameters. */
  recordParameters(i: number, parameters: Readonly<Record<string, number>>): void;
  /** A [rows, ...] tensor filled per sample from that sample's stream `stream`. */
  sample(rows: readonly number[], stream: string, fill: (rng: Rng, out: Float32Array) => void): tf.Tensor;
  readonly numClasses: number;
}

export interface AttackDefinition<O extends object> {
  name: string;
  norm: Norm;
  kind: 'fixed-epsilon' | 'minimization';
  requiresGradients: boolean;
  options: O & { target?: TargetSpec; criterion?: CriterionSpec };
  describe(options: O): string;
  /** Model rows the attack runs per sample at once (several for attacks that linearise towards several classes); sizes the default batch. */
  rowsPerSample?(options: O): number;
  /** Whether the run reports per-sample attack parameters (ctx.recordParameters) as run.parameters. */
  reportsParameters?: boolean;
  /** Proposes adversarial candidates for ctx.x (same shape). May return x where it fails. */
  perturb(ctx: AttackContext, options: O): Promise<tf.Tensor>;
}

export function defineAttack<O extends object>(def: AttackDefinition<O>): Attack {
  const options = Object.freeze({ ...def.options });
  return Object.freeze({
    name: def.name,
    norm: def.norm,
    kind: def.kind,
    requiresGradients: def.requiresGradients,
    options: options as Readonly<Record<string, unknown>>,
    describe: () => def.describe(options),
    run: (model: Classifier | ModelLike, samples: Samples, runOptions: AttackRunOptions = {}) =>
      runAttack(def, options, model, samples, runOptions),
  });
}

export function requireGradients(clf: Classifier, attack: string): void {
  if (!clf.differentiable) {
    throw new RobustestError(
      'NOT_DIFFERENTIABLE',
      `${attack} needs input gradients, and ${clf.name} provides none. Use a query-based attack instead: square(), onePixel(), hopSkipJump(), boundary(), or a corruption attack.`,
      { expected: 'a differentiable classifier (tfjs model or function)', received: `${clf.kind} classifier without gradients` },
    );
  }
}

/** Checks seed and batch size; an absent batch size is left for `defaultBatchSize` once the inputs are known. */
export function checkRunOptions(runOptions: AttackRunOptions, where: string): { seed: number; batchSize: number | undefined } {
  const seed = runOptions.seed ?? DEFAULT_SEED;
  if (!Number.isInteger(seed)) {
    throw new RobustestError('INVALID_OPTION', `${where}: seed must be an integer.`, { expected: 'an integer', received: show(seed) });
  }
  const batchSize = runOptions.batchSize;
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1)) {
    throw new RobustestError('INVALID_OPTION', `${where}: batchSize must be a positive integer.`, { expected: 'an integer ≥ 1', received: show(batchSize) });
  }
  return { seed, batchSize };
}

async function runAttack<O extends object>(
  def: AttackDefinition<O>,
  options: AttackDefinition<O>['options'],
  model: Classifier | ModelLike,
  samples: Samples,
  runOptions: AttackRunOptions,
): Promise<AttackRun> {
  checkKnownOptions(runOptions, RUN_OPTIONS, `${def.name}.run`);
  return scoped(async (scope) => {
    const where = `${def.name}.run()`;
    const clf = classifier(model);
    if (def.requiresGradients) requireGradients(clf, def.name);
    const { seed, batchSize: requestedBatchSize } = checkRunOptions(runOptions, where);
    let epsilon: number | undefined;
    if (runOptions.epsilon !== undefined || def.kind === 'fixed-epsilon') epsilon = checkEpsilon(runOptions.epsilon, where, clf.bounds, def.norm);
    const prepared = await prepareSamples(clf, samples);
    const { inputs, labels, count } = prepared;
    const batchSize = requestedBatchSize ?? (await batchSizeFor(clf, inputs, def.rowsPerSample?.(options) ?? 1));
    const numClasses = clf.numClasses!;
    const criterion = resolveCriterion(options.criterion, options.target, numClasses);
    const root = new Rng(seed).split(def.name);

    const { data: cleanData } = await logitsInBatches(clf, inputs, batchSize);
    const cleanLogits = tf.tensor2d(cleanData, [count, numClasses]);
    const targets = criterion.kind === 'targeted' ? resolveTargets(options.target!, labels, cleanData as Float32Array, numClasses, root.split('targets'), runOptions.sampleIds) : null;
    const cleanAdversarial = adversarialMask(cleanLogits, criterion, labels, targets);
    const cleanProbs = tf.softmax(cleanLogits).dataSync();

    const success = cleanAdversarial.slice();
    const distances = cleanAdversarial.map((adv) => (adv ? 0 : Infinity));
    const adversarialClasses = Array.from({ length: count }, (_, i) => argmaxRow(cleanData, i * numClasses, numClasses));
    const adversarialConfidences = adversarialClasses.map((c, i) => cleanProbs[i * numClasses + c]!);
    const queries = new Array<number>(count).fill(1);
    const parameters = new Array<Readonly<Record<string, number>> | null>(count).fill(null);
    let gradientEvaluations = 0;
    // Each batch's verified adversarials, as one tensor with the sample indices of its rows.
    const verified: { indices: number[]; rows: tf.Tensor }[] = [];

    // Samples already adversarial under the criterion are done at distance 0.
    const todo = [...Array(count).keys()].filter((i) => !cleanAdversarial[i]);
    // Each batch is a call of its own, so whatever an attempt makes is freed with it (a batch
    // that ran out of memory is retried in halves); only the adversarial rows are kept.
    await inBatches(todo, batchSize, (globalIndex) => scoped(async (batch) => {
      const x = takeRows(inputs, globalIndex);
      const batchLabels = pick(labels, globalIndex);
      const batchTargets = targets && pick(targets, globalIndex);
      const all = [...globalIndex.keys()];
      const perSample = globalIndex.map((i) => root.split(runOptions.sampleIds?.[i] ?? i));
      const noise = (which: readonly number[], stream: string, fill: (r: Rng, out: Float32Array) => void): tf.Tensor => {
        const size = x.size / x.shape[0];
        const data = new Float32Array(which.length * size);
        which.forEach((row, k) => fill(perSample[row]!.split(stream), data.subarray(k * size, (k + 1) * size)));
        return tf.tensor(data, [which.length, ...x.shape.slice(1)]);
      };
      const proposed = new Map<number, Readonly<Record<string, number>>>();
      /** A model query that counts one query per row it is asked for. */
      const counted =
        (query: (input: tf.Tensor) => Promise<tf.Tensor2D>) =>
        async (input: tf.Tensor, which: readonly number[] = all): Promise<tf.Tensor2D> => {
          throwIfAborted();
          for (const r of which) queries[globalIndex[r]!]!++;
          return query(input);
        };
      const ctx: AttackContext = {
        clf,
        x,
        labels: batchLabels,
        targets: batchTargets,
        criterion,
        epsilon,
        bounds: clf.bounds,
        norm: def.norm,
        sampleRng: (i) => perSample[i]!,
        logits: counted((input) => clf.logits(input)),
        verdictLogits: counted((input) => verdictLogits(clf, input)),
        gradient: async (input, loss, which = all) => {
          throwIfAborted();
          gradientEvaluations += which.length;
          return clf.valueAndGradient(input, loss);
        },
        hostGradient: async (loss) => {
          const host = (await clf.hostGradient?.(loss)) ?? null;
          return (
            host &&
            ((input, rowCount, gradient, logits) => {
              throwIfAborted();
              gradientEvaluations += rowCount;
              return host(input, rowCount, gradient, logits);
            })
          );
        },
        isAdversarial: (logits, which = all) =>
          logits instanceof Float32Array
            ? adversarialMaskOf(logits, numClasses, criterion, pick(batchLabels, which), batchTargets && pick(batchTargets, which))
            : adversarialMask(logits, criterion, pick(batchLabels, which), batchTargets && pick(batchTargets, which)),
        uniform: (which, low, high, stream) => noise(which, stream, (r, out) => r.fillUniform(out, low, high)),
        normal: (which, stream) => noise(which, stream, (r, out) => r.fillNormal(out)),
        recordParameters: (row, values) => void proposed.set(row, Object.freeze({ ...values })),
        sample: noise,
        numClasses,
      };
      const candidate = await def.perturb(ctx, options);
      if (candidate.shape.join() !== x.shape.join()) throw new Error(`${def.name} returned candidates of shape [${candidate.shape}] for inputs [${x.shape}]`);
      const verdict = await verify(ctx, candidate, epsilon);
      const ok: number[] = [];
      verdict.ok.forEach((isOk, k) => {
        const i = globalIndex[k]!;
        queries[i]!++;
        if (!isOk) return;
        ok.push(k);
        success[i] = true;
        distances[i] = verdict.distance[k]!;
        adversarialClasses[i] = verdict.predicted[k]!;
        adversarialConfidences[i] = verdict.confidence[k]!;
        parameters[i] = proposed.get(k) ?? null;
      });
      if (ok.length > 0) verified.push({ indices: ok.map((k) => globalIndex[k]!), rows: batch.keep(takeRows(candidate, ok)) });
      tf.dispose([candidate, x]);
      return [];
    }));
    // Row by row, tf.slice on wasm would copy the whole input batch once per sample.
    const adversarials = scope.keep(
      verified.length === 0
        ? tf.clone(inputs)
        : tf.tidy(() => replaceRows(inputs, verified.flatMap((v) => v.indices), tf.concat(verified.map((v) => v.rows), 0))),
    );
    return {
      success,
      distances,
      adversarials,
      adversarialClasses,
      adversarialConfidences,
      targets: targets ? Array.from(targets) : null,
      gradientEvaluations,
      queries,
      ...(def.reportsParameters ? { parameters } : {}),
    };
  }, runOptions.signal);
}

/** values[rows[k]] for each k (a plain loop: this runs on every query of every step). */
export function pick(values: Int32Array, rows: readonly number[]): Int32Array {
  const out = new Int32Array(rows.length);
  for (let k = 0; k < rows.length; k++) out[k] = values[rows[k]!]!;
  return out;
}

/** The options attack.run() takes. */
const RUN_OPTIONS = ['epsilon', 'seed', 'batchSize', 'sampleIds', 'signal'] as const;

interface Verdict {
  ok: boolean[];
  distance: number[];
  predicted: number[];
  confidence: number[];
}

/** Runs the model on the candidates and keeps only true adversarials inside bounds and ε. */
async function verify(ctx: AttackContext, candidate: tf.Tensor, epsilon: number | undefined): Promise<Verdict> {
  const logits = await verdictLogits(ctx.clf, candidate);
  const adversarial = ctx.isAdversarial(logits);
  const [low, high] = ctx.bounds;
  const { distance, min: mins, max: maxs, finite } = candidateStats(candidate, ctx.x, ctx.norm);
  const probs = tf.softmax(logits);
  const p = probs.dataSync();
  const z = logits.dataSync();
  const classes = logits.shape[1];
  const predicted = adversarial.map((_, k) => argmaxRow(z, k * classes, classes));
  return {
    ok: adversarial.map(
      (adv, k) =>
        adv &&
        finite[k] &&
        mins[k]! >= low - VERIFY_TOLERANCE &&
        maxs[k]! <= high + VERIFY_TOLERANCE &&
        (epsilon === undefined || distance[k]! <= epsilon + VERIFY_TOLERANCE),
    ),
    distance,
    predicted,
    confidence: predicted.map((c, k) => p[k * classes + c]!),
  };
}
