/**
 * Square's random search, with every sample's state on the host for the whole run: originals,
 * best points and candidates live in flat Float32Arrays (one row per sample), each iteration
 * writes all active samples' proposals into one buffer, asks the model once for all of them,
 * and reads margins and verdicts from that one answer. On a small model a query costs little,
 * so what the search does around it (tensor ops, per-sample arrays, copies) would otherwise
 * dominate.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../engine/random.js';
import type { AttackContext } from './runner.js';
import { geometry, margin } from './query/oracle.js';

/** Rows per model call: the same packing as the query oracle's (2^21 input values, at most 1024 rows). */
function rowsPerCall(size: number): number {
  return Math.max(1, Math.min(1024, Math.floor((1 << 21) / size)));
}

/** Where the schedule halves p, in ten-thousandths of the budget (after the first 10). */
const CUTS = [50, 200, 500, 1000, 2000, 4000, 6000, 8000];

/** The paper's schedule: the fraction p of pixels a square covers at iteration `it` of `total`. */
export function squareFraction(pInit: number, it: number, total: number): number {
  const t = Math.floor((it / total) * 10000);
  if (t <= 10) return pInit;
  for (let k = 0; k < CUTS.length; k++) if (t <= CUTS[k]!) return pInit / 2 ** (k + 1);
  return pInit / 512;
}

export abstract class SquareSearch {
  readonly count: number;
  /** Values per sample. */
  readonly size: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  readonly low: number;
  readonly high: number;
  /** Sample i's original at [i·size, (i+1)·size). */
  readonly originals: Float32Array;
  /** Sample i's best point so far, same layout. */
  readonly best: Float32Array;
  protected readonly rngs: Rng[];
  private readonly spent: Int32Array;
  private readonly loss: Float64Array;
  /** Candidates of one iteration, row k for the k-th active sample. */
  private readonly candidates: Float32Array;
  /** The iteration whose p is `fractionValue`. */
  private fractionAt = -1;
  private fractionValue = 0;

  constructor(
    private readonly ctx: AttackContext,
    originals: Float32Array,
    readonly budget: number,
    readonly epsilon: number,
    readonly pInit: number,
  ) {
    this.count = ctx.x.shape[0];
    this.size = ctx.x.size / this.count;
    ({ height: this.height, width: this.width, channels: this.channels } = geometry(ctx.x.shape.slice(1)));
    [this.low, this.high] = ctx.bounds;
    // A copy of our own: on the cpu backend data() hands out the tensor's own storage.
    this.originals = originals.slice();
    this.best = originals.slice();
    this.rngs = Array.from({ length: this.count }, (_, i) => ctx.sampleRng(i).split('square'));
    this.spent = new Int32Array(this.count);
    this.loss = new Float64Array(this.count);
    this.candidates = new Float32Array(this.count * this.size);
  }

  /** squareFraction at iteration `it`, computed once per iteration rather than once per sample. */
  protected fraction(it: number): number {
    if (it !== this.fractionAt) {
      this.fractionAt = it;
      this.fractionValue = squareFraction(this.pInit, it, this.budget);
    }
    return this.fractionValue;
  }

  protected index(h: number, w: number, c: number): number {
    return (h * this.width + w) * this.channels + c;
  }

  /** Side lengths of a window covering about `area` pixels: a square, or a segment on 1 × F rows. */
  protected window(area: number, minimum: number): [number, number] {
    if (this.height === 1) return [1, Math.max(1, Math.min(this.width - 1, Math.max(minimum, Math.round(area))))];
    const side = Math.max(1, Math.min(Math.min(this.height, this.width) - 1, Math.max(minimum, Math.round(Math.sqrt(area)))));
    return [side, side];
  }

  /** Writes sample i's starting point at `out[at…at+size)`. */
  protected abstract initial(i: number, out: Float32Array, at: number): void;
  /** Writes sample i's candidate of iteration `it` at `out[at…at+size)`, from its best point. */
  protected abstract propose(i: number, it: number, out: Float32Array, at: number): void;
  /** Sample i's best point has changed (the start, or an accepted candidate). */
  protected abstract moved(i: number): void;

  /** Clips values [from, to) of `v` to the bounds. */
  protected clip(v: Float32Array, from: number, to: number): void {
    const { low, high } = this;
    for (let j = from; j < to; j++) v[j] = v[j]! < low ? low : v[j]! > high ? high : v[j]!;
  }

  /** The best points once every sample is adversarial or out of queries, one row per sample. */
  async run(): Promise<Float32Array> {
    const { count, size, candidates, best, loss } = this;
    if (this.epsilon === 0) return best;
    let active = Array.from({ length: count }, (_, i) => i);
    for (const i of active) this.initial(i, candidates, i * size);
    const first = await this.ask(active);
    active = active.filter((i) => {
      loss[i] = this.marginOf(first.logits, first.classes, i, i);
      best.set(candidates.subarray(i * size, (i + 1) * size), i * size);
      this.moved(i);
      return !first.adversarial[i];
    });
    for (let it = 1; active.length > 0; it++) {
      active = active.filter((i) => this.spent[i]! < this.budget);
      if (active.length === 0) break;
      for (let k = 0; k < active.length; k++) this.propose(active[k]!, it, candidates, k * size);
      const answers = await this.ask(active);
      active = active.filter((i, k) => {
        const m = this.marginOf(answers.logits, answers.classes, k, i);
        if (answers.adversarial[k] || m < loss[i]!) {
          best.set(candidates.subarray(k * size, (k + 1) * size), i * size);
          loss[i] = m;
          this.moved(i);
        }
        return !answers.adversarial[k];
      });
    }
    return best;
  }

  /** The margin loss of answer row k, a candidate of sample i. */
  private marginOf(logits: Float32Array, classes: number, k: number, i: number): number {
    const { criterion, labels, targets } = this.ctx;
    return margin(logits.subarray(k * classes, (k + 1) * classes), labels[i]!, targets ? targets[i]! : null, criterion.kind === 'top-k' ? criterion.k : 1);
  }

  /** One model call per chunk for candidate rows 0…rows.length−1, counting a query per row. */
  private async ask(rows: readonly number[]): Promise<{ logits: Float32Array; classes: number; adversarial: boolean[] }> {
    const { ctx, size, candidates } = this;
    const sampleShape = ctx.x.shape.slice(1);
    const perCall = rowsPerCall(size);
    const parts: { logits: Float32Array; classes: number; adversarial: boolean[] }[] = [];
    for (let start = 0; start < rows.length; start += perCall) {
      const part = rows.slice(start, start + perCall);
      // Reused across iterations: rewritten only after this input is disposed (the cpu backend
      // keeps the array itself rather than a copy).
      const input = tf.tensor(candidates.subarray(start * size, (start + part.length) * size), [part.length, ...sampleShape], 'float32');
      let z: tf.Tensor2D;
      try {
        z = await ctx.logits(input, part);
      } finally {
        input.dispose();
      }
      try {
        const adversarial = ctx.isAdversarial(z, part);
        parts.push({ logits: (await z.data()) as Float32Array, classes: z.shape[1], adversarial });
      } finally {
        z.dispose();
      }
    }
    for (const r of rows) this.spent[r]!++;
    if (parts.length === 1) return parts[0]!;
    const classes = parts[0]!.classes;
    const logits = new Float32Array(rows.length * classes);
    parts.forEach((p, n) => logits.set(p.logits, n * perCall * classes));
    return { logits, classes, adversarial: parts.flatMap((p) => p.adversarial) };
  }
}
