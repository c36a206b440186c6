/** BatchNormalization at inference over the last axis: y = (x − mean)·γ/√(var + ε) + β per channel. */
import type { AffineOp, Vec } from './bound-op.js';

export class BatchNormBound implements AffineOp {
  readonly affine = true;
  readonly kind = 'BatchNormalization';
  readonly outputSize: number;
  readonly bias: Vec;
  private readonly scale: Float64Array;

  constructor(
    readonly layer: string,
    readonly outputShape: readonly number[],
    params: { mean: ArrayLike<number>; variance: ArrayLike<number>; gamma: ArrayLike<number> | null; beta: ArrayLike<number> | null; epsilon: number },
  ) {
    const channels = params.mean.length;
    this.outputSize = outputShape.reduce((a, b) => a * b, 1);
    this.scale = new Float64Array(channels);
    const shift = new Float64Array(channels);
    for (let c = 0; c < channels; c++) {
      const s = (params.gamma ? params.gamma[c]! : 1) / Math.sqrt(params.variance[c]! + params.epsilon);
      this.scale[c] = s;
      shift[c] = (params.beta ? params.beta[c]! : 0) - params.mean[c]! * s;
    }
    this.bias = new Float64Array(this.outputSize);
    for (let i = 0; i < this.outputSize; i++) this.bias[i] = shift[i % channels]!;
  }

  linear([x]: readonly Vec[], out: Vec, abs: boolean): void {
    const channels = this.scale.length;
    for (let i = 0; i < this.outputSize; i++) {
      const s = this.scale[i % channels]!;
      out[i] = (abs ? Math.abs(s) : s) * x![i]!;
    }
  }

  transpose(a: Vec, [into]: readonly Vec[]): void {
    const channels = this.scale.length;
    for (let i = 0; i < this.outputSize; i++) into![i]! += a[i]! * this.scale[i % channels]!;
  }
}
