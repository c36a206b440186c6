/**
 * Dense over the last axis: y = xW + b at every position of the leading axes (one position for a
 * vector), its weights kept transposed.
 */
import type { AffineOp, Interval, Vec } from './bound-op.js';

/** Samples whose products share one read of the weights. */
const BLOCK = 4;

export class DenseBound implements AffineOp {
  readonly affine = true;
  readonly kind = 'dense';
  readonly outputShape: readonly number[];
  readonly outputSize: number;
  readonly bias: Vec | null;
  /** Wᵀ, [units, inputs]: each output's weights are contiguous. */
  private readonly rows: Float64Array;
  private readonly absRows: Float64Array;
  private readonly inputs: number;
  private readonly units: number;
  private readonly positions: number;

  /** `inShape`: the per-sample input shape, its last axis the kernel's first. */
  constructor(
    readonly layer: string,
    inShape: readonly number[],
    kernel: ArrayLike<number>,
    kernelShape: readonly [number, number],
    bias: Vec | null,
  ) {
    const [inputs, units] = kernelShape;
    this.inputs = inputs;
    this.units = units;
    this.positions = inShape.slice(0, -1).reduce((a, b) => a * b, 1);
    this.outputShape = [...inShape.slice(0, -1), units];
    this.outputSize = this.positions * units;
    this.rows = new Float64Array(inputs * units);
    for (let i = 0; i < inputs; i++) for (let u = 0; u < units; u++) this.rows[u * inputs + i] = kernel[i * units + u]!;
    this.absRows = this.rows.map(Math.abs);
    if (bias && this.positions > 1) {
      const repeated = new Float64Array(this.outputSize);
      for (let p = 0; p < this.positions; p++) repeated.set(bias, p * units);
      this.bias = repeated;
    } else this.bias = bias;
  }

  linear([input]: readonly Vec[], out: Vec, abs: boolean): void {
    const n = this.inputs;
    const rows = abs ? this.absRows : this.rows;
    const x = input!;
    for (let p = 0; p < this.positions; p++) {
      const xb = p * n;
      const ob = p * this.units;
      for (let u = 0; u < this.units; u++) {
        let s = 0;
        const base = u * n;
        for (let i = 0; i < n; i++) s += rows[base + i]! * x[xb + i]!;
        out[ob + u] = s;
      }
    }
  }

  transpose(a: Vec, [into]: readonly Vec[]): void {
    const n = this.inputs;
    const t = into!;
    for (let p = 0; p < this.positions; p++) {
      const xb = p * n;
      const ob = p * this.units;
      for (let u = 0; u < this.units; u++) {
        const w = a[ob + u]!;
        if (w === 0) continue;
        const base = u * n;
        for (let i = 0; i < n; i++) t[xb + i]! += w * this.rows[base + i]!;
      }
    }
  }

  intervalBatch(input: Interval, batch: number): Interval {
    const n = this.inputs;
    const units = this.units;
    const count = batch * this.positions;
    const mid = new Float64Array(count * n);
    const rad = new Float64Array(count * n);
    for (let i = 0; i < mid.length; i++) {
      mid[i] = (input.lower[i]! + input.upper[i]!) / 2;
      rad[i] = (input.upper[i]! - input.lower[i]!) / 2;
    }
    const lower = new Float64Array(count * units);
    const upper = new Float64Array(count * units);
    const rows = this.rows;
    const abs = this.absRows;
    const bias = this.bias;
    const write = (p: number, u: number, m: number, r: number) => {
      const o = p * units + u;
      const c = m + (bias ? bias[o % bias.length]! : 0);
      lower[o] = c - r;
      upper[o] = c + r;
    };
    let p = 0;
    for (; p + BLOCK <= count; p += BLOCK) {
      const x0 = p * n;
      const x1 = x0 + n;
      const x2 = x1 + n;
      const x3 = x2 + n;
      for (let u = 0; u < units; u++) {
        const base = u * n;
        let m0 = 0, m1 = 0, m2 = 0, m3 = 0, r0 = 0, r1 = 0, r2 = 0, r3 = 0;
        for (let i = 0; i < n; i++) {
          const w = rows[base + i]!;
          const a = abs[base + i]!;
          m0 += w * mid[x0 + i]!;
          m1 += w * mid[x1 + i]!;
          m2 += w * mid[x2 + i]!;
          m3 += w * mid[x3 + i]!;
          r0 += a * rad[x0 + i]!;
          r1 += a * rad[x1 + i]!;
          r2 += a * rad[x2 + i]!;
          r3 += a * rad[x3 + i]!;
        }
        write(p, u, m0, r0);
        write(p + 1, u, m1, r1);
        write(p + 2, u, m2, r2);
        write(p + 3, u, m3, r3);
      }
    }
    for (; p < count; p++) {
      const x0 = p * n;
      for (let u = 0; u < units; u++) {
        const base = u * n;
        let m = 0;
        let r = 0;
        for (let i = 0; i < n; i++) {
          m += rows[base + i]! * mid[x0 + i]!;
          r += abs[base + i]! * rad[x0 + i]!;
        }
        write(p, u, m, r);
      }
    }
    return { lower, upper };
  }
}
