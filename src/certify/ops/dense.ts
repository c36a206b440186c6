/**
 * Dense over the last axis: y = xW + b at every position of the leading axes (one position for a
 * vector), its weights kept transposed.
 */
import type { AffineOp, Vec } from './bound-op.js';

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
}
