/** Add (inputs of one shape) and Concatenate (any per-sample axis). */
import type { AffineOp, Vec } from './bound-op.js';

export class AddBound implements AffineOp {
  readonly affine = true;
  readonly kind = 'Add';
  readonly bias = null;
  readonly outputSize: number;

  constructor(
    readonly layer: string,
    readonly outputShape: readonly number[],
  ) {
    this.outputSize = outputShape.reduce((a, b) => a * b, 1);
  }

  linear(inputs: readonly Vec[], out: Vec): void {
    out.fill(0);
    for (const x of inputs) for (let i = 0; i < this.outputSize; i++) out[i]! += x[i]!;
  }

  transpose(a: Vec, into: readonly Vec[]): void {
    for (const t of into) for (let i = 0; i < this.outputSize; i++) t[i]! += a[i]!;
  }
}

export class ConcatenateBound implements AffineOp {
  readonly affine = true;
  readonly kind = 'Concatenate';
  readonly bias = null;
  readonly outputShape: readonly number[];
  readonly outputSize: number;
  /** Product of the dimensions before the axis, and each input's block after it. */
  private readonly outer: number;
  private readonly blocks: number[];

  /** `axis`: the per-sample axis (0 is the first dimension after the batch). */
  constructor(
    readonly layer: string,
    inShapes: readonly (readonly number[])[],
    axis: number,
  ) {
    const first = inShapes[0]!;
    this.outer = first.slice(0, axis).reduce((a, b) => a * b, 1);
    this.blocks = inShapes.map((s) => s.slice(axis).reduce((a, b) => a * b, 1));
    this.outputShape = first.map((d, i) => (i === axis ? inShapes.reduce((t, s) => t + s[axis]!, 0) : d));
    this.outputSize = this.outputShape.reduce((a, b) => a * b, 1);
  }

  linear(inputs: readonly Vec[], out: Vec): void {
    let o = 0;
    for (let r = 0; r < this.outer; r++) {
      inputs.forEach((x, k) => {
        const block = this.blocks[k]!;
        out.set(x.subarray(r * block, (r + 1) * block), o);
        o += block;
      });
    }
  }

  transpose(a: Vec, into: readonly Vec[]): void {
    let o = 0;
    for (let r = 0; r < this.outer; r++) {
      into.forEach((t, k) => {
        const block = this.blocks[k]!;
        for (let i = 0; i < block; i++) t[r * block + i]! += a[o + i]!;
        o += block;
      });
    }
  }
}
