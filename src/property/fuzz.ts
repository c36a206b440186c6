/**
 * Property-based fuzzing of a classifier: "no checked input changes class under any drawn
 * perturbation". fast-check draws the perturbations; robustest evaluates them in packed batches
 * and lets fast-check shrink only the first failing case.
 *
 * Replay is fast-check's own: the batch phase draws the values with fc.sample from the same
 * arbitrary and seed as fc.check (fc.sample yields "the values fc.check would generate"), so
 * run r of the sweep is run r of fc.check. The
 * first failing run r is then handed to fc.check as path "r", which regenerates it and shrinks
 * it. The printed { seed, path } replays the shrunk case through fc.check directly.
 */
import * as fc from 'fast-check';
import { RobustestError, show } from '../errors.js';
import { scoped } from '../engine/hygiene.js';
import { classifier } from '../model/classifier.js';
import type { ModelInput } from './options.js';
import { describeArbitrary, isArbitrary } from './perturbations/arbitraries.js';
import { isPerturbation, type Perturbation } from './perturbations/types.js';
import { signalOf, checkFuzzOptions, type FuzzOptions } from './options.js';
import { classifyUnder, flipsUnder, sweep, type CallCounter } from './batched.js';
import { prepareSubject } from './subject.js';
import { describeChanges, flippedPositions, type Change } from './change.js';

export interface Counterexample extends Change {
  /** The shrunk perturbation. */
  perturbation: Perturbation;
  /** Every input (index into `on`) that the shrunk perturbation flips. */
  flippedInputs: number[];
  /** Index of the first failing run, counted from 0 (as in the path). */
  run: number;
  /** Shrinking steps that led from the failing run to this case. */
  shrinks: number;
  /** fast-check's counterexample path: pass it back with the seed to replay this case. */
  path: string;
}

export interface FuzzReport {
  model: string;
  /** What was drawn, e.g. "L∞ uniform noise with ε ≤ 0.3". */
  perturbation: string;
  /** Inputs given. */
  count: number;
  /** Inputs checked (all without labels; the correctly classified ones with labels). */
  checked: number;
  /** Inputs skipped because the model misclassifies them. */
  skipped: number[];
  /** Perturbations requested and actually evaluated (the sweep stops at the first failure when atLeast is 1). */
  numRuns: number;
  runs: number;
  seed: number;
  /** The path given to replay, or null. */
  replayedPath: string | null;
  atLeast: number;
  /** Checked inputs no evaluated perturbation flipped, and their fraction of the checked ones. */
  robustInputs: number;
  robustFraction: number;
  /** Inputs some evaluated perturbation flipped (indices into `on`). */
  flippedInputs: number[];
  pass: boolean;
  /** The shrunk failing case, when the verdict is a failure. */
  counterexample: Counterexample | null;
  /** Model calls and rows sent, all phases together. */
  modelCalls: number;
  modelRows: number;
  inputShape: number[];
  bounds: [number, number];
  backend: string;
  seconds: number;
}

/** Parameters pinned so that a user's fc.configureGlobal cannot change what is drawn or replayed. */
const PINNED = {
  randomType: 'xorshift128plus',
  examples: [] as [],
  unbiased: false,
  endOnFailure: false,
  skipEqualValues: false,
  ignoreEqualValues: false,
  verbose: 0,
  timeout: undefined,
  skipAllAfterTimeLimit: undefined,
  interruptAfterTimeLimit: undefined,
  markInterruptAsFailure: false,
  maxSkipsPerRun: 100,
  reporter: undefined,
  asyncReporter: undefined,
} as const;

export function toPerturbationArbitrary(perturbation: unknown, where: string): { arbitrary: fc.Arbitrary<Perturbation>; description: string } {
  if (isPerturbation(perturbation)) return { arbitrary: fc.constant(perturbation), description: perturbation.describe() };
  if (isArbitrary(perturbation)) {
    return { arbitrary: perturbation as fc.Arbitrary<Perturbation>, description: describeArbitrary(perturbation) };
  }
  throw new RobustestError('INVALID_OPTION', `${where} takes a perturbation arbitrary or a perturbation value.`, {
    expected: 'e.g. perturbations.gaussianNoise(0.1), perturbations.compose(…), or transforms.translate(1)',
    received: show(perturbation),
  });
}

function notAPerturbation(value: unknown, where: string): RobustestError {
  return new RobustestError('INVALID_OPTION', `${where}: the arbitrary produced something that is not a perturbation.`, {
    expected: 'an arbitrary of Perturbation values (from robustest’s perturbations)',
    received: show(value),
  });
}

export async function fuzz(model: ModelInput, perturbation: fc.Arbitrary<Perturbation> | Perturbation, options: FuzzOptions): Promise<FuzzReport> {
  const started = performance.now();
  const where = 'fuzz()';
  return scoped(async (scope) => {
    const clf = classifier(model);
    const { arbitrary, description } = toPerturbationArbitrary(perturbation, where);
    const o = checkFuzzOptions(options, where);
    const counter: CallCounter = { calls: 0, rows: 0 };
    const subject = await prepareSubject(clf, o.on, o.batchSize, counter, where);
    const m = subject.checked.length;

    // Errors raised while fast-check runs the predicate are reported by fc.check as failures;
    // the first one is re-thrown as the error it is.
    let raised: unknown;
    const property = fc.asyncProperty(arbitrary, async (value) => {
      try {
        if (!isPerturbation(value)) throw notAPerturbation(value, where);
        return (await flipsUnder(subject, value, subject.batchSize, counter)).length === 0;
      } catch (error) {
        raised ??= error;
        throw error;
      }
    });

    const flippedAnywhere = new Uint8Array(m);
    let runs = 0;
    let firstFailure = -1;
    let details: fc.RunDetails<[Perturbation]> | null = null;
    let values: unknown[] = [];
    if (o.path === null) {
      values = fc.sample(arbitrary, { ...PINNED, seed: o.seed, numRuns: o.numRuns });
      const bad = values.find((v) => !isPerturbation(v));
      if (bad !== undefined) throw notAPerturbation(bad, where);
      await sweep(subject, values as Perturbation[], subject.batchSize, counter, (run, flips) => {
        runs = run + 1;
        for (const k of flips) flippedAnywhere[k] = 1;
        if (flips.length > 0 && (firstFailure < 0 || run < firstFailure)) firstFailure = run;
        return !(o.atLeast === 1 && firstFailure >= 0);
      });
      if (firstFailure >= 0 && !passes(flippedAnywhere, o.atLeast)) {
        details = await fc.check(property, { ...PINNED, seed: o.seed, path: String(firstFailure), numRuns: o.numRuns - firstFailure });
      }
    } else {
      details = await replay(property, o.seed, o.path, where);
      runs = 1;
    }
    if (raised !== undefined) throw raised;

    let failing: { value: Perturbation; path: string } | null = null;
    if (details?.failed && details.counterexample) {
      failing = { value: details.counterexample[0], path: details.counterexamplePath! };
    } else if (details && o.path === null) {
      // The model disagreed with itself between the packed and the single evaluation (a
      // prediction at a numerical tie): report the failing run as drawn, unshrunk.
      failing = { value: values[firstFailure] as Perturbation, path: String(firstFailure) };
    }
    let counterexample: Counterexample | null = null;
    if (failing) {
      const { value, path } = failing;
      const under = await classifyUnder(subject, value, subject.batchSize, counter);
      const flips = flippedPositions(subject, under);
      if (o.path !== null) for (const k of flips) flippedAnywhere[k] = 1;
      if (flips.length > 0) {
        const [change] = await describeChanges(subject, value, under, [flips[0]!]);
        counterexample = {
          ...change,
          perturbation: value,
          flippedInputs: flips.map((k) => subject.checked[k]!),
          run: Number(path.split(':')[0]),
          shrinks: path.split(':').length - 1,
          path,
        };
      }
    }
    const robustInputs = m - flippedAnywhere.reduce((a, b) => a + b, 0);
    const robustFraction = robustInputs / m;
    return {
      model: clf.name,
      perturbation: description,
      count: subject.count,
      checked: m,
      skipped: subject.skipped,
      numRuns: o.path === null ? o.numRuns : 1,
      runs,
      seed: o.seed,
      replayedPath: o.path,
      atLeast: o.atLeast,
      robustInputs,
      robustFraction,
      flippedInputs: [...flippedAnywhere.keys()].filter((k) => flippedAnywhere[k]).map((k) => subject.checked[k]!),
      pass: passes(flippedAnywhere, o.atLeast),
      counterexample,
      modelCalls: counter.calls,
      modelRows: counter.rows,
      inputShape: subject.inputs.shape.slice(1),
      bounds: [clf.bounds[0], clf.bounds[1]],
      backend: scope.backend,
      seconds: (performance.now() - started) / 1000,
    };
  }, signalOf(options));
}

/** fast-check replays a path, or says (by throwing, or by running nothing) that it leads nowhere. */
async function replay(property: fc.IAsyncProperty<[Perturbation]>, seed: number, path: string, where: string): Promise<fc.RunDetails<[Perturbation]>> {
  const wrongPath = (): RobustestError =>
    new RobustestError('INVALID_OPTION', `${where}: path "${path}" leads to no case of this perturbation with seed ${seed}.`, {
      expected: 'the { seed, path } a failure printed, with the same perturbation arbitrary',
      received: `seed ${seed}, path "${path}"`,
    });
  let details: fc.RunDetails<[Perturbation]>;
  try {
    details = await fc.check(property, { ...PINNED, seed, path, numRuns: 1 });
  } catch (error) {
    if (error instanceof Error && /Unable to replay/.test(error.message)) throw wrongPath();
    throw error;
  }
  if (details.numRuns === 0 && !details.failed) throw wrongPath();
  return details;
}

function passes(flipped: Uint8Array, atLeast: number): boolean {
  const robust = flipped.length - flipped.reduce((a, b) => a + b, 0);
  return robust / flipped.length >= atLeast;
}

