/**
 * The loop shared by fixed-ε iterative attacks (PGD, MI-FGSM): gradient steps on the samples
 * still unbroken, each sample dropped from later steps as soon as it is adversarial, so no
 * gradient is spent on a sample that is already done. Per-sample state tensors (momentum, …)
 * follow the samples that stay. Where the executor runs the whole L∞ step, host-iteration.ts
 * runs the same loop on host memory.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LossFn } from '../engine/tfjs/types.js';
import type { AttackContext } from './runner.js';
import { replaceRows, takeRows } from './steps.js';
import type { LinfStep } from './host-iteration.js';
import { iterateOnHost } from './host-iteration.js';

/** The first adversarial found for each sample of the batch; the input where none yet. */
export class Found {
  tensor: tf.Tensor;
  readonly done: boolean[];

  constructor(x: tf.Tensor) {
    this.tensor = tf.clone(x);
    this.done = new Array<boolean>(x.shape[0]).fill(false);
  }

  /** Batch rows not broken yet. */
  pending(): number[] {
    return this.done.flatMap((d, i) => (d ? [] : [i]));
  }

  /** Stores rows `positions` of `x` (whose rows are batch rows `rows`) as found. */
  record(rows: readonly number[], x: tf.Tensor, positions: readonly number[]): void {
    if (positions.length === 0) return;
    const values = takeRows(x, positions);
    this.store(positions.map((p) => rows[p]!), values);
    values.dispose();
  }

  /** Stores the rows of `values` as found for batch rows `rows`. */
  store(rows: readonly number[], values: tf.Tensor): void {
    const next = replaceRows(this.tensor, rows, values);
    this.tensor.dispose();
    this.tensor = next;
    for (const r of rows) this.done[r] = true;
  }
}

export interface Iteration {
  /** Batch rows of the samples being attacked. */
  rows: number[];
  /** Their starting points, one row each. Taken over (disposed) by the loop. */
  start: tf.Tensor;
  steps: number;
  loss(rows: readonly number[]): LossFn;
  /** Per-sample state carried between steps (e.g. momentum); taken over by the loop. */
  state?: Record<string, tf.Tensor>;
  /**
   * Set when `step` is the plain L∞ step with these parameters and keeps no state: where the
   * executor offers host gradients (ctx.hostGradient), the loop then runs on host memory.
   */
  linf?: LinfStep;
  /**
   * One step: the next iterate and state from the current iterate, its loss gradient, the
   * originals and the state. Must not dispose its arguments.
   */
  step(x: tf.Tensor, gradient: tf.Tensor, x0: tf.Tensor, state: Record<string, tf.Tensor>): { x: tf.Tensor; state: Record<string, tf.Tensor> };
}

export async function iterate(ctx: AttackContext, found: Found, it: Iteration): Promise<void> {
  if (it.linf && !it.state && (await ctx.hostGradient(it.loss(it.rows)))) return iterateOnHost(ctx, found, it, it.linf);
  let rows = it.rows;
  let x = it.start;
  let x0 = takeRows(ctx.x, rows);
  let state = it.state ?? {};
  for (let step = 0; ; step++) {
    const last = step === it.steps;
    let logits: tf.Tensor2D;
    let gradient: tf.Tensor | undefined;
    if (last) logits = await ctx.logits(x, rows);
    else {
      const result = await ctx.gradient(x, it.loss(rows), rows);
      logits = result.logits;
      gradient = result.gradient;
      result.loss.dispose();
    }
    const adversarial = ctx.isAdversarial(logits, rows);
    logits.dispose();
    const hit = adversarial.flatMap((a, p) => (a ? [p] : []));
    found.record(rows, x, hit);
    const keep = adversarial.flatMap((a, p) => (a ? [] : [p]));
    if (last || keep.length === 0) {
      gradient?.dispose();
      break;
    }
    if (hit.length > 0) {
      const narrowed = [x, gradient!, x0, ...Object.values(state)].map((t) => takeRows(t, keep));
      tf.dispose([x, gradient!, x0, ...Object.values(state)]);
      [x, gradient, x0] = narrowed as [tf.Tensor, tf.Tensor, tf.Tensor];
      state = Object.fromEntries(Object.keys(state).map((name, j) => [name, narrowed[3 + j]!]));
      rows = keep.map((p) => rows[p]!);
    }
    const next = it.step(x, gradient!, x0, state);
    tf.dispose([x, gradient!, ...Object.values(state).filter((t) => !Object.values(next.state).includes(t))]);
    x = next.x;
    state = next.state;
  }
  tf.dispose([x, x0, ...Object.values(state)]);
}
