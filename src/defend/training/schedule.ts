/** The ε warm-up ramp and the learning-rate schedule, per batch. */

/** ε after `done` of `total` batches: a linear ramp from 0 over the warm-up, then constant. */
export function rampedEpsilon(target: number, warmupBatches: number, done: number): number {
  if (warmupBatches <= 0) return target;
  return target * Math.min(1, done / warmupBatches);
}

/** Cosine annealing from `rate` to 0 over `total` batches, or the constant rate. */
export function scheduledRate(rate: number, schedule: 'constant' | 'cosine', done: number, total: number): number {
  if (schedule === 'constant') return rate;
  return (rate * (1 + Math.cos((Math.PI * done) / total))) / 2;
}
