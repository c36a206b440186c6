/**
 * An executor's host gradient as a classifier hands it out: a failure inside names the model and
 * its input as any prediction's does, and the logits pass the same checks (layout, NaN).
 */
import type { HostGradient } from '../engine/host-gradient.js';
import { checkFiniteValues, checkScoreLayout } from './outputs.js';

export function checkedHostGradient(
  hostGradient: HostGradient,
  name: string,
  inputShape: readonly number[] | null,
  failure: (x: { shape: number[] }, error: unknown) => Error,
): HostGradient {
  return async (x, rows, gradient, logits) => {
    try {
      await hostGradient(x, rows, gradient, logits);
    } catch (error) {
      throw failure({ shape: [rows, ...(inputShape ?? [x.length / Math.max(rows, 1)])] }, error);
    }
    const classes = logits.length / Math.max(rows, 1);
    checkScoreLayout(name, [rows, classes], 'float32', rows);
    checkFiniteValues(name, logits, rows, classes);
  };
}
