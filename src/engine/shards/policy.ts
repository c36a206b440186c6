/**
 * When `workers: 'auto'` starts threads. Starting them costs about a second (a tfjs engine and
 * backend per thread), which only long runs repay, and how long a run will take is known only
 * once some of it has run: so each attack first runs a small share of its samples on this thread
 * and extrapolates. Threads start when the rest would take `minSeconds` or more.
 */
import { RobustestError, show } from '../../errors.js';

export const autoThreads = {
  /** The first chunk of each attack holds 1/probeShare of its samples (at most a batch). */
  probeShare: 8,
  minSeconds: 3,
};

/** Whether threads pay for the rest of an attack, after `seconds` spent on `done` of `total` samples. */
export function threadsPay(seconds: number, done: number, total: number): boolean {
  return done > 0 && (seconds / done) * (total - done) >= autoThreads.minSeconds;
}

export type Workers = number | 'auto';

/** A `workers` option: an integer ≥ 1 or 'auto'. */
export function checkWorkers(value: unknown, where: string): Workers {
  if (value !== 'auto' && !(Number.isInteger(value) && (value as number) >= 1)) {
    throw new RobustestError('INVALID_OPTION', `${where} is a thread count.`, { expected: "'auto' or an integer ≥ 1", received: show(value) });
  }
  return value as Workers;
}
