/** Dense over the last axis of a rank-2 input: y = xW + b, its weights kept transposed. */
import type { AffineOp, Vec } from './bound-op.js';

export class DenseBound implements AffineOp {
  readonly affine = true;
  readonly kind = 'Dense';
  readonly outputShape: readonly number[];
  readonly outputSize: number;
  /** Wᵀ, [units, inputs]: each output's weights are contiguous. */
  private readonly rows: Float64Array;
  private readonly absRows: Float64Array;
  private readonly inputs: number;

  constructor(
    readonly layer: string,
    kernel: ArrayLike<number>,
    kernelShape: readonly [number, number],
    readonly bias: Vec | null,
  ) {
    const [inputs, units] = kernelShape;
    this.inputs = inputs;
    this.outputSize = units;
    this.outputShape = [units];
    this.rows = new Float64Array(inputs * units);
    for (let i = 0; i < inputs; i++) for (let u = 0; u < units; u++) this.rows[u * inputs + i] = kernel[i * units + u]!;
    this.absRows = this.rows.map(Math.abs);
  }

  linear([input]: readonly Vec[], out: Vec, abs: boolean): void {
    const n = this.inputs;
    const rows = abs ? this.absRows : this.rows;
    const x = input!;
    for (let u = 0; u < this.outputSize; u++) {
      let s = 0;
      const base = u * n;
      for (let i = 0; i < n; i++) s += rows[base + i]! * x[i]!;
      out[u] = s;
    }
  }

  transpose(a: Vec, [into]: readonly Vec[]): void {
    const n = this.inputs;
    for (let u = 0; u < this.outputSize; u++) {
      const w = a[u]!;
      if (w === 0) continue;
      const base = u * n;
      for (let i = 0; i < n; i++) into![i]! += w * this.rows[base + i]!;
    }
  }
}
