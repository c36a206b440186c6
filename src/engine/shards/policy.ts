/**
 * When `workers: 'auto'` starts threads. Starting them costs about a second (a tfjs engine and
 * backend per thread), which only long runs repay, and how long a run will take is known only
 * once some of it has run: so each attack first runs a small share of its samples on this thread
 * and extrapolates. Threads start when the rest would take `minSeconds` or more.
 */
export const autoThreads = {
  /** The first chunk of each attack holds 1/probeShare of its samples (at most a batch). */
  probeShare: 8,
  minSeconds: 3,
};

/** Whether threads pay for the rest of an attack, after `seconds` spent on `done` of `total` samples. */
export function threadsPay(seconds: number, done: number, total: number): boolean {
  return done > 0 && (seconds / done) * (total - done) >= autoThreads.minSeconds;
}
