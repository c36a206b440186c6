/**
 * iterate()'s loop for the plain L∞ step when the executor offers host gradients: the iterates,
 * origins and gradients stay in one arena of host memory (src/engine/linf-kernel.ts), the
 * executor reads the iterate and writes the gradient there, and the step is one SIMD pass over
 * it; nothing becomes a tfjs tensor between steps. Samples drop out as in iterate(): each is
 * checked at every iterate, and the first adversarial found is kept.
 *
 * The arena is borrowed once for the whole loop and narrowed in place as samples drop out; the
 * adversarials found are gathered on the host and stored once at the end. (A fresh array per
 * narrowing and a tensor copy per store had taken a third of an MNIST MLP's PGD curve.)
 */
import * as tf from '@tensorflow/tfjs-core';
import { borrow, giveBack } from '../engine/buffers.js';
import { borrowArena, giveBackArena } from '../engine/linf-kernel.js';
import { readInto } from '../engine/tfjs/host-memory.js';
import type { HostGradient } from '../engine/host-gradient.js';
import type { Found, Iteration } from './iterative.js';
import type { AttackContext } from './runner.js';
import { takeRows } from './steps.js';

/** x ← clip(x0 + clip(x + size·sign(∇loss) − x0, −ε, ε), bounds), as src/attacks/pgd.ts steps. */
export interface LinfStep {
  readonly size: number;
  readonly epsilon: number;
  readonly bounds: readonly [number, number];
}

export async function iterateOnHost(ctx: AttackContext, found: Found, it: Iteration, step: LinfStep): Promise<void> {
  const shape = it.start.shape.slice(1);
  const size = shape.reduce((a, b) => a * b, 1);
  const parameters = { size: step.size, epsilon: step.epsilon, low: step.bounds[0], high: step.bounds[1] };
  let rows = it.rows;
  const arena = borrowArena(rows.length * size);
  const hits = borrow(rows.length * size);
  const logitRows = borrow(rows.length * ctx.numClasses);
  const hitRows: number[] = [];
  let gradientOf: HostGradient | null = null;
  try {
    const origins = takeRows(ctx.x, rows);
    try {
      readInto(it.start, arena.x.subarray(0, rows.length * size));
      readInto(origins, arena.origin.subarray(0, rows.length * size));
    } finally {
      tf.dispose([it.start, origins]);
    }
    for (let s = 0; ; s++) {
      const last = s === it.steps;
      const length = rows.length * size;
      const current = arena.x.subarray(0, length);
      let adversarial: boolean[];
      if (last) {
        const input = tf.tensor(current, [rows.length, ...shape], 'float32');
        const logits = await ctx.logits(input, rows).finally(() => input.dispose());
        adversarial = ctx.isAdversarial(logits, rows);
        logits.dispose();
      } else {
        // The loss names its rows' labels: it changes only when rows drop out.
        gradientOf ??= await ctx.hostGradient(it.loss(rows));
        if (!gradientOf) throw new Error('the executor stopped offering the host gradient it offered for the same loss');
        const logits = logitRows.subarray(0, rows.length * ctx.numClasses);
        await gradientOf(current, rows.length, arena.gradient.subarray(0, length), logits);
        adversarial = ctx.isAdversarial(logits, rows);
      }
      const keep: number[] = [];
      adversarial.forEach((hit, p) => {
        if (hit) {
          hits.set(current.subarray(p * size, (p + 1) * size), hitRows.length * size);
          hitRows.push(rows[p]!);
        } else keep.push(p);
      });
      if (last || keep.length === 0) return;
      if (keep.length < rows.length) {
        for (const data of [arena.x, arena.gradient, arena.origin]) narrow(data, keep, size);
        rows = keep.map((p) => rows[p]!);
        gradientOf = null;
      }
      arena.step(rows.length * size, parameters);
    }
  } finally {
    if (hitRows.length > 0) {
      const values = tf.tensor(hits.subarray(0, hitRows.length * size), [hitRows.length, ...shape], 'float32');
      found.store(hitRows, values);
      values.dispose();
    }
    giveBackArena(arena);
    giveBack(hits, logitRows);
  }
}

/** Moves rows `positions` (increasing) of row-major `data` to its front, in that order. */
function narrow(data: Float32Array, positions: readonly number[], size: number): void {
  positions.forEach((p, k) => {
    if (p !== k) data.copyWithin(k * size, p * size, (p + 1) * size);
  });
}
