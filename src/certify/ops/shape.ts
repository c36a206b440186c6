/** Flatten and Reshape: the flat channels-last values are unchanged. */
import type { AffineOp, Vec } from './bound-op.js';

export class ReshapeBound implements AffineOp {
  readonly affine = true;
  readonly bias = null;
  readonly outputSize: number;

  constructor(
    readonly kind: string,
    readonly layer: string,
    readonly outputShape: readonly number[],
  ) {
    this.outputSize = outputShape.reduce((a, b) => a * b, 1);
  }

  linear([x]: readonly Vec[], out: Vec): void {
    out.set(x!);
  }

  transpose(a: Vec, [into]: readonly Vec[]): void {
    for (let i = 0; i < this.outputSize; i++) into![i]! += a[i]!;
  }
}
