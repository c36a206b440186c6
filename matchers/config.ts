/**
 * Suite-wide defaults for the robustness matchers, set once (typically in a setup file) with
 * configureRobustest() and overridden per call. Kept on globalThis so that every copy of the
 * package loaded in one test file (ESM and CJS, or a bundled and an external copy) agrees.
 */
import { RobustestError, show } from '../src/errors.js';
import { checkWorkers, type Workers } from '../src/engine/shards/policy.js';

export interface RobustestDefaults {
  /** Seed of every attack run. Default 0. */
  seed: number;
  /** Smallest robust accuracy that passes toBeRobustAgainst and toBeRobust. Default 1. */
  atLeast: number;
  /** Samples per batch; undefined leaves the attack's own default. */
  batchSize: number | undefined;
  /** Worker threads of toBeRobustAgainst's runs (evaluate()'s option). Default 1. */
  workers: Workers;
  /** Where counterexample pictures go, relative to the test file's folder. Default '__robustness__'. */
  pictureDir: string;
  /** Whether failing assertions on image inputs write a picture. Default true. */
  pictures: boolean;
  /** Broken samples listed in a failure message, and drawn in its picture. Default 3 and 4. */
  counterexamples: number;
  pictureRows: number;
}

const FACTORY: RobustestDefaults = Object.freeze({
  seed: 0,
  atLeast: 1,
  batchSize: undefined,
  workers: 1,
  pictureDir: '__robustness__',
  pictures: true,
  counterexamples: 3,
  pictureRows: 4,
});

const KEY = Symbol.for('robustest.defaults');
type Holder = { [KEY]?: RobustestDefaults };

export function robustestDefaults(): RobustestDefaults {
  return (globalThis as Holder)[KEY] ?? FACTORY;
}

/** Sets suite-wide defaults; returns the defaults now in force. Unknown keys are refused. */
export function configureRobustest(defaults: Partial<RobustestDefaults>): RobustestDefaults {
  if (defaults === null || typeof defaults !== 'object' || Array.isArray(defaults)) {
    throw new RobustestError('INVALID_OPTION', 'configureRobustest() takes an object of defaults.', {
      expected: `{ ${Object.keys(FACTORY).join(', ')} }`,
      received: show(defaults),
    });
  }
  const unknown = Object.keys(defaults).filter((k) => !(k in FACTORY));
  if (unknown.length > 0) {
    throw new RobustestError('INVALID_OPTION', `configureRobustest(): unknown option ${unknown.map((k) => `\`${k}\``).join(', ')}.`, {
      expected: Object.keys(FACTORY).join(', '),
      received: unknown.join(', '),
    });
  }
  const next = { ...robustestDefaults(), ...stripUndefined(defaults) };
  if ('batchSize' in defaults && defaults.batchSize === undefined) next.batchSize = undefined;
  checkSeed(next.seed, 'configureRobustest(): seed');
  checkAtLeast(next.atLeast, 'configureRobustest(): atLeast');
  if (next.batchSize !== undefined) checkBatchSize(next.batchSize, 'configureRobustest(): batchSize');
  checkWorkers(next.workers, 'configureRobustest(): workers');
  if (typeof next.pictureDir !== 'string' || next.pictureDir.length === 0) {
    throw new RobustestError('INVALID_OPTION', 'configureRobustest(): pictureDir must be a non-empty path.', { expected: 'a path string', received: show(next.pictureDir) });
  }
  if (typeof next.pictures !== 'boolean') {
    throw new RobustestError('INVALID_OPTION', 'configureRobustest(): pictures must be true or false.', { expected: 'a boolean', received: show(next.pictures) });
  }
  checkCount(next.counterexamples, 'configureRobustest(): counterexamples');
  checkCount(next.pictureRows, 'configureRobustest(): pictureRows');
  (globalThis as Holder)[KEY] = Object.freeze(next);
  return next;
}

/** Restores the built-in defaults. */
export function resetRobustest(): void {
  delete (globalThis as Holder)[KEY];
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function checkSeed(seed: unknown, where: string): number {
  if (!Number.isSafeInteger(seed)) {
    throw new RobustestError('INVALID_OPTION', `${where} must be an integer.`, { expected: 'an integer, e.g. 7', received: show(seed) });
  }
  return seed as number;
}

export function checkAtLeast(atLeast: unknown, where: string): number {
  if (typeof atLeast !== 'number' || !(atLeast >= 0 && atLeast <= 1)) {
    throw new RobustestError('INVALID_OPTION', `${where} is a robust accuracy, a number in [0, 1].`, {
      expected: 'a number in [0, 1], e.g. 0.9',
      received: show(atLeast),
    });
  }
  return atLeast;
}

export function checkBatchSize(batchSize: unknown, where: string): number {
  if (!Number.isInteger(batchSize) || (batchSize as number) < 1) {
    throw new RobustestError('INVALID_OPTION', `${where} must be a positive integer.`, { expected: 'an integer ≥ 1', received: show(batchSize) });
  }
  return batchSize as number;
}

function checkCount(count: unknown, where: string): void {
  if (!Number.isInteger(count) || (count as number) < 0) {
    throw new RobustestError('INVALID_OPTION', `${where} must be a whole number.`, { expected: 'an integer ≥ 0', received: show(count) });
  }
}
