/**
 * An executor's L∞ stepper as a classifier hands it out: a failure inside names the model and
 * its input as any prediction's does, and the logits pass the same checks (shape, NaN).
 */
import type { LinfStepper } from '../engine/fused-step.js';
import { checkScores } from './outputs.js';

export function checkedStepper(
  stepper: LinfStepper,
  name: string,
  inputShape: readonly number[] | null,
  failure: (x: { shape: number[] }, error: unknown) => Error,
): LinfStepper {
  return async (x, origin, rows, step, into) => {
    let result: Awaited<ReturnType<LinfStepper>>;
    try {
      result = await stepper(x, origin, rows, step, into);
    } catch (error) {
      throw failure({ shape: [rows, ...(inputShape ?? [x.length / Math.max(rows, 1)])] }, error);
    }
    try {
      checkScores(name, result.logits, rows);
    } catch (error) {
      result.logits.dispose();
      throw error;
    }
    return result;
  };
}
