/**
 * Robustness curves: runs one or several attacks over samples and a list of ε, and returns a
 * plain RobustnessReport. A sample counts as robust at ε only if it is classified correctly and
 * survives every attack at that ε (AutoAttack's worst case). Fixed-ε attacks attack a larger ε
 * only on the samples that survived the smaller one — an adversarial inside a small ball is
 * inside every larger one — and minimization attacks run once for the whole curve.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show } from './errors.js';
import { scoped, throwIfAborted } from './engine/hygiene.js';
import { classifier, type Classifier, type ModelLike } from './model/classifier.js';
import { checkEpsilon, markChecked, prepareSamples, type Samples } from './samples.js';
import { argmaxRow } from './attacks/criteria.js';
import { checkRunOptions } from './attacks/runner.js';
import { checkKnownOptions } from './attacks/options.js';
import { batchSizeFor, logitsInBatches } from './engine/batches.js';
import type { Attack } from './attacks/types.js';
import { availableParallelism } from 'node:os';
import { ShardPool } from './engine/shards/pool.js';
import { autoThreads, checkWorkers, threadsPay, type Workers } from './engine/shards/policy.js';
import type { PlainRun } from './engine/shards/protocol.js';
import type { Norm } from './norms.js';
import { flagsOf, mergeFlags, type ReliabilityFlag } from './attacks/reliability.js';
import { takeRows } from './engine/tfjs/rows.js';

export interface EvaluateOptions {
  attack?: Attack;
  attacks?: readonly Attack[];
  /** Budgets in the attacks' norm; optional when every attack minimizes. */
  epsilons?: readonly number[];
  seed?: number;
  batchSize?: number;
  /**
   * Fail fast: stop attacking as soon as robust accuracy at some ε is certain to stay below
   * this value. The report then says where it stopped, and its robust accuracies from that ε on
   * are upper bounds (enough to know the verdict, not the exact curve).
   */
  atLeast?: number;
  /**
   * Worker threads that share the samples, each with its own tfjs engine and backend. A number
   * starts that many at the first attack. 'auto' times a small share of each attack on this
   * thread and starts one thread per core only when the rest would take 3 s or more: starting
   * them costs about a second, which short runs do not repay. Only LayersModels travel to
   * workers (other models stay on this thread). Results are identical to a single-thread run
   * with the same seed. Default 1: this thread only.
   */
  workers?: Workers;
  /** Cancels the run: it rejects with a RobustestError of code 'ABORTED' and frees what it made. */
  signal?: AbortSignal;
  /**
   * How many broken samples keep their adversarial input in the report (`samples[i].adversarial`):
   * those with the lowest indices, whatever order the attacks broke them in. Every broken sample
   * keeps its distance, ε and class either way. Default 1,000, so that a report on a large set
   * does not hold a copy of it; 'all' keeps every one.
   */
  keepAdversarials?: number | 'all';
}

/** The options evaluate() takes. */
const EVALUATE_OPTIONS = ['attack', 'attacks', 'epsilons', 'seed', 'batchSize', 'atLeast', 'workers', 'signal', 'keepAdversarials'] as const;

const DEFAULT_KEPT_ADVERSARIALS = 1000;

export interface SampleOutcome {
  index: number;
  label: number;
  /** Clean prediction. */
  prediction: number;
  correct: boolean;
  /** Smallest listed ε at which the sample broke: 0 if misclassified, null if it never broke. */
  breakingEpsilon: number | null;
  /** Size of the adversarial found (attack norm), 0 if misclassified, null if none. */
  distance: number | null;
  /** Class the model gave the adversarial, and its softmax confidence. */
  adversarialClass: number | null;
  adversarialConfidence: number | null;
  /** Name of the attack that broke the sample. */
  brokenBy: string | null;
  /**
   * The adversarial input, flattened: null unless an attack broke the sample, and beyond the
   * `keepAdversarials` lowest-indexed broken samples.
   */
  adversarial: Float32Array | null;
}

export interface RobustnessReport {
  model: string;
  attacks: string[];
  norm: Norm;
  epsilons: number[];
  count: number;
  cleanAccuracy: number;
  robustAccuracy: number[];
  samples: SampleOutcome[];
  /** Shape of one input, for pictures. */
  inputShape: number[];
  bounds: [number, number];
  seed: number;
  gradientEvaluations: number;
  queries: number;
  backend: string;
  /** What ran the model's forward and gradient passes: the tfjs engine or the onnxruntime executor. */
  engine: 'tfjs' | 'onnxruntime';
  seconds: number;
  /**
   * Set when `atLeast` made evaluate stop early: the ε whose verdict was decided, by which attack,
   * and how many samples that attack had not reached at that ε.
   */
  stoppedEarly: { atEpsilon: number; attack: string; unattacked: number } | null;
  /** Threads that ran attacks (1: this one only). */
  workers: number;
  /** Reliability warnings raised by the attacks (autoAttack's checks); empty when none. */
  reliability: ReliabilityFlag[];
}

export async function evaluate(model: Classifier | ModelLike, samples: Samples, options: EvaluateOptions = {} as EvaluateOptions): Promise<RobustnessReport> {
  const started = performance.now();
  checkKnownOptions(options, EVALUATE_OPTIONS, 'evaluate');
  return scoped(async () => {
    const clf = classifier(model);
    const attacks = resolveAttacks(options);
    const norm = attacks[0]!.norm;
    const { seed, batchSize: requestedBatchSize } = checkRunOptions(options, 'evaluate()');
    const requested = checkWorkers(options.workers ?? 1, 'evaluate(): workers');
    const adaptive = requested === 'auto';
    const workers = adaptive ? availableParallelism() : requested;
    const epsilons = resolveEpsilons(options.epsilons, attacks, clf.bounds, norm);
    if (options.atLeast !== undefined && !(typeof options.atLeast === 'number' && options.atLeast >= 0 && options.atLeast <= 1)) {
      throw new RobustestError('INVALID_OPTION', 'evaluate(): atLeast is a robust accuracy.', { expected: 'a number in [0, 1]', received: show(options.atLeast) });
    }
    const kept = keptAdversarials(options.keepAdversarials);
    const { inputs, labels, count } = await prepareSamples(clf, samples);
    // Samples per chunk; each attack sizes its own batches unless the user gave one.
    const batchSize = requestedBatchSize ?? (await batchSizeFor(clf, inputs));
    const { data: z, classes } = await logitsInBatches(clf, inputs, batchSize);

    const outcomes: SampleOutcome[] = Array.from({ length: count }, (_, i) => {
      const prediction = argmaxRow(z, i * classes, classes);
      const correct = prediction === labels[i];
      return {
        index: i,
        label: labels[i]!,
        prediction,
        correct,
        breakingEpsilon: correct ? null : 0,
        distance: correct ? null : 0,
        adversarialClass: correct ? null : prediction,
        adversarialConfidence: null,
        brokenBy: null,
        adversarial: null,
      };
    });
    let gradientEvaluations = 0;
    let queries = 0;
    let reliability: ReliabilityFlag[] = [];
    let workersUsed = 1;
    let shardPool: Promise<ShardPool | null> | undefined;
    /** Worker threads, started once per call on first need; null when they cannot or should not run. */
    const pool = async (): Promise<ShardPool | null> => {
      if (workers < 2) return null;
      shardPool ??= ShardPool.open(clf, workers, tf.getBackend());
      const opened = await shardPool;
      if (opened) workersUsed = opened.size;
      return opened;
    };

    const record = (attack: Attack, run: PlainRun, subset: number[], epsilonOf: (distance: number) => number | null) => {
      gradientEvaluations += run.gradientEvaluations;
      reliability = mergeFlags(reliability, flagsOf(run));
      queries += run.queries.reduce((a, b) => a + b, 0);
      const size = run.adversarials.length / subset.length;
      subset.forEach((index, k) => {
        if (!run.success[k] || !(run.distances[k]! > 0)) return;
        const outcome = outcomes[index]!;
        const distance = run.distances[k]!;
        const at = epsilonOf(distance);
        // Keep the adversarial that breaks at the smallest listed ε, then the closest one.
        const current = outcome.breakingEpsilon ?? Infinity;
        const better = (at ?? Infinity) < current || ((at ?? Infinity) === current && (outcome.distance === null || distance < outcome.distance));
        if (!better) return;
        outcome.breakingEpsilon = at;
        outcome.distance = distance;
        outcome.adversarialClass = run.adversarialClasses[k]!;
        outcome.adversarialConfidence = run.adversarialConfidences[k]!;
        outcome.brokenBy = attack.name;
        outcome.adversarial = kept.admits(outcomes, index) ? run.adversarials.slice(k * size, (k + 1) * size) : null;
      });
    };

    const robustCount = (e: number) => outcomes.filter((o) => o.breakingEpsilon === null || o.breakingEpsilon > e).length;
    // Broken samples only accumulate, so once some ε is below `atLeast` the verdict is final.
    const failedEpsilon = (): number | undefined =>
      options.atLeast === undefined ? undefined : epsilons.find((e) => robustCount(e) < options.atLeast! * count - 1e-9);
    let stoppedEarly: RobustnessReport['stoppedEarly'] = null;

    const runHere = async (attack: Attack, chunk: number[], epsilon: number | undefined): Promise<PlainRun> => {
      const subset = markChecked(takeRows(inputs, chunk), clf.bounds);
      const run = await attack.run(clf, { inputs: subset, labels: Int32Array.from(chunk, (i) => labels[i]!) }, { epsilon, seed, batchSize: requestedBatchSize, sampleIds: chunk });
      const adversarials = (await run.adversarials.data()) as Float32Array;
      tf.dispose([run.adversarials, subset]);
      return { ...run, adversarials };
    };
    const runInWorker = async (shards: ShardPool, attack: Attack, chunk: number[], epsilon: number | undefined): Promise<PlainRun> => {
      const subset = takeRows(inputs, chunk);
      const data = (await subset.data()) as Float32Array;
      subset.dispose();
      return shards.run({ recipe: attack.recipe!, inputs: data, shape: [chunk.length, ...inputs.shape.slice(1)], labels: Int32Array.from(chunk, (i) => labels[i]!), epsilon, seed, batchSize: requestedBatchSize, sampleIds: chunk });
    };

    /**
     * Attacks `indices` chunk by chunk, so that a decided verdict stops the work; with worker
     * threads, one chunk per thread at a time.
     */
    const attackInChunks = async (attack: Attack, indices: number[], epsilon: number | undefined, epsilonOf: (d: number) => number | null) => {
      const sharable = attack.recipe !== undefined && indices.length > 1;
      // 'auto' without threads yet: a small first chunk, timed, decides whether they pay.
      let probing = adaptive && sharable && workers > 1 && shardPool === undefined;
      let attacked = 0;
      while (attacked < indices.length) {
        throwIfAborted();
        const remaining = indices.length - attacked;
        const shards = sharable && remaining > 1 && !probing && (!adaptive || shardPool) ? await pool() : null;
        const width = shards?.size ?? 1;
        // With several threads, chunks small enough that every thread gets one.
        const size = Math.min(batchSize, Math.ceil(probing ? indices.length / autoThreads.probeShare : remaining / width));
        const group: number[][] = [];
        for (let start = attacked; group.length < width && start < indices.length; start += size) group.push(indices.slice(start, start + size));
        const started = performance.now();
        const runs = await Promise.all(group.map((chunk) => (shards ? runInWorker(shards, attack, chunk, epsilon) : runHere(attack, chunk, epsilon))));
        runs.forEach((run, k) => record(attack, run, group[k]!, epsilonOf));
        attacked += group.reduce((n, chunk) => n + chunk.length, 0);
        if (probing) {
          probing = false;
          if (threadsPay((performance.now() - started) / 1000, attacked, indices.length)) await pool();
        }
        const failed = failedEpsilon();
        if (failed !== undefined) {
          stoppedEarly = { atEpsilon: failed, attack: attack.name, unattacked: indices.length - attacked };
          return false;
        }
      }
      return true;
    };

    const correct = outcomes.filter((o) => o.correct).map((o) => o.index);
    // The first chunk is always attacked, even when clean accuracy alone decides the verdict, so a
    // failure can still show counterexamples.
    try {
      let going = true;
      for (const attack of attacks.filter((a) => a.kind === 'minimization')) {
        if (!going) break;
        // A minimization attack breaks a sample at every listed ε at or above its distance.
        going = await attackInChunks(attack, correct, undefined, (d) => epsilons.find((e) => d <= e + 1e-6) ?? null);
      }
      for (const epsilon of epsilons) {
        for (const attack of attacks.filter((a) => a.kind === 'fixed-epsilon')) {
          if (!going) break;
          const survivors = outcomes.filter((o) => o.breakingEpsilon === null || o.breakingEpsilon > epsilon).map((o) => o.index);
          going = await attackInChunks(attack, survivors, epsilon, () => epsilon);
        }
      }

    } finally {
      await (await shardPool)?.close();
    }

    const robustAccuracy = epsilons.map((e) => robustCount(e) / count);
    return {
      model: clf.name,
      attacks: attacks.map((a) => a.describe()),
      norm,
      epsilons,
      count,
      cleanAccuracy: correct.length / count,
      robustAccuracy,
      samples: outcomes,
      inputShape: inputs.shape.slice(1),
      bounds: [clf.bounds[0], clf.bounds[1]],
      seed,
      gradientEvaluations,
      queries,
      backend: tf.getBackend(),
      engine: clf.engine ?? 'tfjs',
      seconds: (performance.now() - started) / 1000,
      stoppedEarly,
      workers: workersUsed,
      reliability,
    };
  }, options.signal);
}

/**
 * Which broken samples hold their adversarial: at most `limit`, the lowest indices among those
 * broken so far. Samples only ever get broken, so the final set is the same whatever order the
 * attacks (or worker threads) broke them in.
 */
function keptAdversarials(option: EvaluateOptions['keepAdversarials']) {
  if (option !== undefined && option !== 'all' && !(Number.isInteger(option) && option >= 0)) {
    throw new RobustestError('INVALID_OPTION', 'evaluate(): keepAdversarials is a count of samples.', { expected: "a whole number ≥ 0, or 'all'", received: show(option) });
  }
  const limit = option === 'all' ? Infinity : (option ?? DEFAULT_KEPT_ADVERSARIALS);
  const holding = new Set<number>();
  return {
    /** Whether sample `index` may hold an adversarial now; evicts the highest-indexed holder to make room. */
    admits(outcomes: SampleOutcome[], index: number): boolean {
      if (holding.has(index)) return true;
      if (holding.size < limit) {
        holding.add(index);
        return true;
      }
      let highest = -1;
      for (const i of holding) highest = Math.max(highest, i);
      if (highest < index) return false;
      holding.delete(highest);
      outcomes[highest]!.adversarial = null;
      holding.add(index);
      return true;
    },
  };
}

function resolveAttacks(options: EvaluateOptions): Attack[] {
  const list = options.attacks ? [...options.attacks] : options.attack ? [options.attack] : [];
  if (options.attack && options.attacks) {
    throw new RobustestError('INVALID_OPTION', 'evaluate(): pass either `attack` or `attacks`, not both.', {
      expected: '{ attack } or { attacks: [...] }',
      received: 'both',
    });
  }
  if (list.length === 0 || list.some((a) => typeof a?.run !== 'function')) {
    throw new RobustestError('INVALID_OPTION', 'evaluate() needs an attack.', {
      expected: '{ attack: pgd() } or { attacks: [pgd(), deepfool()] }',
      received: show(options.attack ?? options.attacks),
    });
  }
  const norms = new Set(list.map((a) => a.norm));
  if (norms.size > 1) {
    throw new RobustestError('INVALID_OPTION', 'evaluate(): all attacks of one curve must use the same norm, since ε is measured in it.', {
      expected: 'one norm',
      received: [...norms].join(', '),
    });
  }
  return list;
}

function resolveEpsilons(epsilons: readonly number[] | undefined, attacks: Attack[], bounds: readonly [number, number], norm: Norm): number[] {
  if (epsilons === undefined) {
    if (attacks.every((a) => a.kind === 'minimization')) return [];
    throw new RobustestError('INVALID_EPSILON', 'evaluate(): fixed-ε attacks need `epsilons`.', {
      expected: 'epsilons: number[] (e.g. [0.05, 0.1, 0.2])',
      received: 'undefined',
    });
  }
  if (!Array.isArray(epsilons)) {
    throw new RobustestError('INVALID_EPSILON', 'evaluate(): `epsilons` must be an array of numbers.', { expected: 'number[]', received: show(epsilons) });
  }
  if (epsilons.length === 0) {
    throw new RobustestError('INVALID_EPSILON', 'evaluate(): `epsilons` is empty, so there is nothing to evaluate.', {
      expected: 'at least one ε (e.g. [0.05, 0.1, 0.2]), or leave it out when every attack minimizes',
      received: '[]',
    });
  }
  return [...new Set(epsilons.map((e, i) => checkEpsilon(e, `evaluate(): epsilons[${i}]`, bounds, norm)))].sort((a, b) => a - b);
}
