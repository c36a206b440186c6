/**
 * The model as query-based attacks see it: candidates as Float32Arrays, answers as scores or
 * verdicts, a per-sample query budget that cannot be overdrawn, and model calls that pack many
 * candidates (of many samples) into one batch. Every query goes through ctx.logits, so the
 * runner's per-sample counts stay exact.
 */
import * as tf from '@tensorflow/tfjs-core';
import { show } from '../../errors.js';
import type { AttackContext } from '../runner.js';
import type { TargetSpec } from '../types.js';

/** Upper bound on the input values sent to the model in one call (memory, not speed). */
const VALUES_PER_CALL = 1 << 21;
/** Upper bound on the rows of one call, whatever the input size. */
const ROWS_PER_CALL = 1024;

export interface Answers {
  /** Logits per candidate, each of length `classes`. */
  logits: Float32Array[];
  /** The criterion's verdict per candidate. */
  adversarial: boolean[];
}

export class QueryOracle {
  readonly count: number;
  /** Values per sample. */
  readonly size: number;
  /** Shape of one sample (without the batch dimension). */
  readonly sampleShape: number[];
  readonly originals: Float32Array[];
  readonly low: number;
  readonly high: number;
  private readonly spent: Int32Array;

  private constructor(
    private readonly ctx: AttackContext,
    readonly budget: number,
    data: Float32Array,
  ) {
    this.count = ctx.x.shape[0];
    this.sampleShape = ctx.x.shape.slice(1);
    this.size = ctx.x.size / this.count;
    this.originals = Array.from({ length: this.count }, (_, i) => data.slice(i * this.size, (i + 1) * this.size));
    this.spent = new Int32Array(this.count);
    [this.low, this.high] = ctx.bounds;
  }

  static async create(ctx: AttackContext, budget: number): Promise<QueryOracle> {
    return new QueryOracle(ctx, budget, (await ctx.x.data()) as Float32Array);
  }

  get epsilon(): number | undefined {
    return this.ctx.epsilon;
  }

  /** Sample i's random stream for `purpose`. */
  rng(i: number, purpose: string) {
    return this.ctx.sampleRng(i).split(purpose);
  }

  /** The margin loss of sample i's candidate with logits z (see `margin`). */
  marginOf(z: Float32Array, i: number): number {
    const criterion = this.ctx.criterion;
    return margin(z, this.ctx.labels[i]!, this.ctx.targets ? this.ctx.targets[i]! : null, criterion.kind === 'top-k' ? criterion.k : 1);
  }

  /** Su et al.'s fitness, to minimise: p(label), or 1 − p(target) when targeted. */
  fitnessOf(z: Float32Array, i: number): number {
    return this.ctx.targets ? 1 - probability(z, this.ctx.targets[i]!) : probability(z, this.ctx.labels[i]!);
  }

  remaining(i: number): number {
    return this.budget - this.spent[i]!;
  }

  queriesSpent(i: number): number {
    return this.spent[i]!;
  }

  /** Scores one candidate per entry of `rows` (a sample may appear several times). */
  async ask(rows: readonly number[], candidates: readonly Float32Array[]): Promise<Answers> {
    if (rows.length !== candidates.length) throw new Error(`ask(): ${rows.length} rows for ${candidates.length} candidates`);
    const tally = new Map<number, number>();
    for (const r of rows) tally.set(r, (tally.get(r) ?? 0) + 1);
    for (const [r, n] of tally) {
      if (n > this.remaining(r)) throw new Error(`query budget overdrawn for sample ${r}: ${n} asked, ${this.remaining(r)} left`);
    }
    const logits: Float32Array[] = [];
    const adversarial: boolean[] = [];
    const perCall = Math.max(1, Math.min(ROWS_PER_CALL, Math.floor(VALUES_PER_CALL / this.size)));
    for (let start = 0; start < rows.length; start += perCall) {
      const part = rows.slice(start, start + perCall);
      const packed = new Float32Array(part.length * this.size);
      for (let k = 0; k < part.length; k++) packed.set(candidates[start + k]!, k * this.size);
      const input = tf.tensor(packed, [part.length, ...this.sampleShape], 'float32');
      const z = await this.ctx.logits(input, part);
      input.dispose();
      const verdicts = this.ctx.isAdversarial(z, part);
      const values = (await z.data()) as Float32Array;
      const classes = z.shape[1];
      z.dispose();
      for (let k = 0; k < part.length; k++) {
        logits.push(values.slice(k * classes, (k + 1) * classes));
        adversarial.push(verdicts[k]!);
      }
    }
    for (const [r, n] of tally) this.spent[r]! += n;
    return { logits, adversarial };
  }

  /** Verdicts only (decision-based attacks use nothing else). */
  async decide(rows: readonly number[], candidates: readonly Float32Array[]): Promise<boolean[]> {
    if (rows.length === 0) return [];
    return (await this.ask(rows, candidates)).adversarial;
  }

  /** Attack parameters of sample i's returned adversarial (a severity, a transform), for the report. */
  record(i: number, parameters: Readonly<Record<string, number>>): void {
    this.ctx.recordParameters(i, parameters);
  }

  /** Clips in place to the classifier's bounds. */
  clip(v: Float32Array): Float32Array {
    const { low, high } = this;
    for (let j = 0; j < v.length; j++) v[j] = v[j]! < low ? low : v[j]! > high ? high : v[j]!;
    return v;
  }

  /** Packs per-sample results back into one tensor shaped like ctx.x. */
  toTensor(values: readonly Float32Array[]): tf.Tensor {
    const packed = new Float32Array(this.count * this.size);
    values.forEach((v, i) => packed.set(v, i * this.size));
    return tf.tensor(packed, [this.count, ...this.sampleShape], 'float32');
  }
}

/**
 * How far the model is from the criterion on one logits row: positive while not adversarial,
 * ≤ 0 once it is. Square minimises it (Andriushchenko et al.'s margin loss).
 */
export function margin(z: Float32Array, label: number, target: number | null, topK = 1): number {
  if (target !== null) {
    let other = -Infinity;
    for (let j = 0; j < z.length; j++) if (j !== target && z[j]! > other) other = z[j]!;
    return other - z[target]!;
  }
  if (topK === 1) {
    let other = -Infinity;
    for (let j = 0; j < z.length; j++) if (j !== label && z[j]! > other) other = z[j]!;
    return z[label]! - other;
  }
  const others = Array.from(z).filter((_, j) => j !== label).sort((a, b) => b - a);
  return z[label]! - others[topK - 1]!;
}

/** Softmax probability of class `c` in one logits row. */
export function probability(z: Float32Array, c: number): number {
  let max = -Infinity;
  for (const v of z) if (v > max) max = v;
  let sum = 0;
  for (const v of z) sum += Math.exp(v - max);
  return Math.exp(z[c]! - max) / sum;
}

/** Euclidean and max-norm distances between two samples. */
export function l2(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += (a[j]! - b[j]!) ** 2;
  return Math.sqrt(s);
}

export function linf(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let j = 0; j < a.length; j++) m = Math.max(m, Math.abs(a[j]! - b[j]!));
  return m;
}

/** Image geometry of a sample shape: NHWC images, [H, W] as one channel, features as a 1 × F row. */
export function geometry(sampleShape: readonly number[]): { height: number; width: number; channels: number } {
  if (sampleShape.length === 3) return { height: sampleShape[0]!, width: sampleShape[1]!, channels: sampleShape[2]! };
  if (sampleShape.length === 2) return { height: sampleShape[0]!, width: sampleShape[1]!, channels: 1 };
  return { height: 1, width: sampleShape.reduce((a, b) => a * b, 1), channels: 1 };
}

export function describeTarget(target: TargetSpec | undefined): string {
  return target === undefined ? '' : `, targeted: ${show(target)}`;
}
