/**
 * Invariance under a fixed transform (CheckList's INV tests): the model must give every checked
 * input the same class after the transform, e.g. after a one-pixel shift.
 */
import { RobustestError, show } from '../errors.js';
import { scoped } from '../engine/hygiene.js';
import { classifier } from '../model/classifier.js';
import type { ModelInput } from './options.js';
import { isArbitrary } from './perturbations/arbitraries.js';
import { isPerturbation, type Perturbation } from './perturbations/types.js';
import { signalOf, checkInvarianceOptions, type InvarianceOptions } from './options.js';
import { classifyUnder, type CallCounter } from './batched.js';
import { prepareSubject } from './subject.js';
import { describeChanges, flippedPositions, type Change } from './change.js';

export interface InvarianceReport {
  model: string;
  transform: string;
  count: number;
  checked: number;
  skipped: number[];
  atLeast: number;
  /** Checked inputs whose class the transform kept, and their fraction. */
  invariantInputs: number;
  invariantFraction: number;
  pass: boolean;
  /** Every checked input whose class changed, in input order. */
  changes: Change[];
  modelCalls: number;
  modelRows: number;
  inputShape: number[];
  bounds: [number, number];
  backend: string;
  seconds: number;
}

export async function checkInvariance(model: ModelInput, transform: Perturbation, options: InvarianceOptions): Promise<InvarianceReport> {
  const started = performance.now();
  const where = 'checkInvariance()';
  return scoped(async (scope) => {
    const clf = classifier(model);
    if (!isPerturbation(transform)) {
      throw new RobustestError(
        'INVALID_OPTION',
        `${where} takes one fixed transform.${isArbitrary(transform) ? ' This is an arbitrary of many perturbations: check those with toBeRobustUnder / fuzz().' : ''}`,
        { expected: 'a perturbation value such as transforms.translate(1) or transforms.rotate(5)', received: show(transform) },
      );
    }
    const o = checkInvarianceOptions(options, where);
    const counter: CallCounter = { calls: 0, rows: 0 };
    const subject = await prepareSubject(clf, o.on, o.batchSize, counter, where);
    const under = await classifyUnder(subject, transform, subject.batchSize, counter);
    const changes = await describeChanges(subject, transform, under, flippedPositions(subject, under));
    const m = subject.checked.length;
    const invariantInputs = m - changes.length;
    return {
      model: clf.name,
      transform: transform.describe(),
      count: subject.count,
      checked: m,
      skipped: subject.skipped,
      atLeast: o.atLeast,
      invariantInputs,
      invariantFraction: invariantInputs / m,
      pass: invariantInputs / m >= o.atLeast,
      changes,
      modelCalls: counter.calls,
      modelRows: counter.rows,
      inputShape: subject.inputs.shape.slice(1),
      bounds: [clf.bounds[0], clf.bounds[1]],
      backend: scope.backend,
      seconds: (performance.now() - started) / 1000,
    };
  }, signalOf(options));
}
