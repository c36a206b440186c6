/**
 * iterate()'s loop for the plain L∞ step when the executor runs that step whole: the iterates and
 * origins stay in host memory, and a step is one executor call (loss, gradient, step, projection,
 * clip) with no tensor work around it. Samples drop out as in iterate(): each is checked at every
 * iterate, and the first adversarial found is kept.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LinfStep } from '../engine/fused-step.js';
import type { Found, Iteration } from './iterative.js';
import type { AttackContext } from './runner.js';
import { takeRows } from './steps.js';
import { copyRows } from '../engine/tfjs/rows.js';

export async function iterateOnHost(ctx: AttackContext, found: Found, it: Iteration, step: LinfStep): Promise<void> {
  const shape = it.start.shape.slice(1);
  const size = shape.reduce((a, b) => a * b, 1);
  const tensorOf = (data: Float32Array, rows: number) => tf.tensor(data, [rows, ...shape], 'float32');
  let rows = it.rows;
  let x: Float32Array = Float32Array.from(await it.start.data());
  it.start.dispose();
  const origins = takeRows(ctx.x, rows);
  let x0: Float32Array = Float32Array.from(await origins.data());
  origins.dispose();
  // The iterate before last: free once a step has read it, the next step writes into it.
  let spare: Float32Array | undefined;
  for (let s = 0; ; s++) {
    const last = s === it.steps;
    let logits: tf.Tensor2D;
    let next: Float32Array | undefined;
    if (last) {
      const input = tensorOf(x, rows.length);
      logits = await ctx.logits(input, rows).finally(() => input.dispose());
    } else {
      const stepper = await ctx.linfStepper(it.loss(rows));
      if (!stepper) throw new Error('the executor stopped offering the L∞ step it offered for the same loss');
      ({ logits, next } = await stepper(x, x0, rows.length, step, spare?.length === x.length ? spare : undefined));
    }
    const adversarial = ctx.isAdversarial(logits, rows);
    logits.dispose();
    const hit: number[] = [];
    const keep: number[] = [];
    for (let p = 0; p < adversarial.length; p++) (adversarial[p] ? hit : keep).push(p);
    if (hit.length > 0) {
      const values = tensorOf(pickRows(x, hit, size), hit.length);
      found.store(hit.map((p) => rows[p]!), values);
      values.dispose();
    }
    if (last || keep.length === 0) return;
    if (hit.length > 0) {
      next = pickRows(next!, keep, size);
      x0 = pickRows(x0, keep, size);
      rows = keep.map((p) => rows[p]!);
    }
    spare = x;
    x = next!;
  }
}

function pickRows(data: Float32Array, positions: readonly number[], size: number): Float32Array {
  return copyRows(new Float32Array(positions.length * size), data, positions, size);
}
