/**
 * iterate()'s loop for the plain L∞ step when the executor runs that step whole: the iterates and
 * origins stay in host memory, and a step is one executor call (loss, gradient, step, projection,
 * clip) with no tensor work around it. Samples drop out as in iterate(): each is checked at every
 * iterate, and the first adversarial found is kept.
 *
 * The loop's arrays are borrowed once for the whole loop and narrowed in place as samples drop
 * out; the adversarials found are gathered on the host and stored once at the end. (A fresh array
 * per narrowing and a tensor copy per store had taken a third of an MNIST MLP's PGD curve.)
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LinfStep } from '../engine/fused-step.js';
import { borrow, giveBack } from '../engine/buffers.js';
import { readInto } from '../engine/tfjs/host-memory.js';
import type { Found, Iteration } from './iterative.js';
import type { AttackContext } from './runner.js';
import { takeRows } from './steps.js';

export async function iterateOnHost(ctx: AttackContext, found: Found, it: Iteration, step: LinfStep): Promise<void> {
  const shape = it.start.shape.slice(1);
  const size = shape.reduce((a, b) => a * b, 1);
  let rows = it.rows;
  const capacity = rows.length * size;
  let [x, spare] = [borrow(capacity), borrow(capacity)];
  const [x0, hits] = [borrow(capacity), borrow(capacity)];
  const hitRows: number[] = [];
  try {
    try {
      readInto(it.start, x);
    } finally {
      it.start.dispose();
    }
    const origins = takeRows(ctx.x, rows);
    try {
      readInto(origins, x0);
    } finally {
      origins.dispose();
    }
    for (let s = 0; ; s++) {
      const last = s === it.steps;
      const length = rows.length * size;
      const [current, origin, into] = [x.subarray(0, length), x0.subarray(0, length), spare.subarray(0, length)];
      let logits: tf.Tensor2D;
      if (last) {
        const input = tf.tensor(current, [rows.length, ...shape], 'float32');
        logits = await ctx.logits(input, rows).finally(() => input.dispose());
      } else {
        const stepper = await ctx.linfStepper(it.loss(rows));
        if (!stepper) throw new Error('the executor stopped offering the L∞ step it offered for the same loss');
        const result = await stepper(current, origin, rows.length, step, into);
        if (result.next !== into) into.set(result.next);
        logits = result.logits;
      }
      const adversarial = ctx.isAdversarial(logits, rows);
      logits.dispose();
      const keep: number[] = [];
      adversarial.forEach((hit, p) => {
        if (!hit) return keep.push(p);
        hits.set(current.subarray(p * size, (p + 1) * size), hitRows.length * size);
        hitRows.push(rows[p]!);
      });
      if (last || keep.length === 0) return;
      if (keep.length < rows.length) {
        narrow(spare, keep, size);
        narrow(x0, keep, size);
        rows = keep.map((p) => rows[p]!);
      }
      [x, spare] = [spare, x];
    }
  } finally {
    if (hitRows.length > 0) {
      const values = tf.tensor(hits.subarray(0, hitRows.length * size), [hitRows.length, ...shape], 'float32');
      found.store(hitRows, values);
      values.dispose();
    }
    giveBack(x, spare, x0, hits);
  }
}

/** Moves rows `positions` (increasing) of row-major `data` to its front, in that order. */
function narrow(data: Float32Array, positions: readonly number[], size: number): void {
  positions.forEach((p, k) => {
    if (p !== k) data.copyWithin(k * size, p * size, (p + 1) * size);
  });
}
