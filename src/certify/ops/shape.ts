/**
 * Ops that only move values: reshape (the flat row-major values are unchanged), and transpose,
 * slice and constant pad, each a gather of input positions (pad fills the rest with its value).
 * Their interval image is exact.
 */
import type { Support } from '../support.js';
import type { AffineOp, Interval, Vec } from './bound-op.js';

export class ReshapeBound implements AffineOp {
  readonly affine = true;
  readonly exactInterval = true;
  readonly kind = 'reshape';
  readonly bias = null;
  readonly outputSize: number;

  constructor(
    readonly layer: string,
    readonly outputShape: readonly number[],
  ) {
    this.outputSize = outputShape.reduce((a, b) => a * b, 1);
  }

  linear([x]: readonly Vec[], out: Vec): void {
    out.set(x!);
  }

  /** The same values: the input's own arrays (bound propagation never writes into a slot's bounds once found). */
  intervalBatch(input: Interval): Interval {
    return { lower: input.lower, upper: input.upper };
  }

  transpose(a: Vec, [into]: readonly Vec[]): void {
    const t = into!;
    for (let i = 0; i < this.outputSize; i++) t[i]! += a[i]!;
  }

  transposeSparse(a: Vec, rows: number, from: Support, into: Vec, to: Support): void {
    const n = this.outputSize;
    if (from.full) to.fill();
    for (let t = 0; t < from.count; t++) {
      const e = from.at(t);
      to.add(e);
      for (let j = 0; j < rows; j++) into[j * n + e]! += a[j * n + e]!;
    }
  }
}

/** Row-major strides of a shape. */
function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = strides[i + 1]! * shape[i + 1]!;
  return strides;
}

/** out[i] = x[source[i]], or `fill` where source[i] is −1. */
export class GatherBound implements AffineOp {
  readonly affine = true;
  readonly exactInterval = true;
  readonly outputSize: number;
  readonly bias: Vec | null;

  private constructor(
    readonly kind: string,
    readonly layer: string,
    readonly outputShape: readonly number[],
    private readonly source: Int32Array,
    fill: number,
  ) {
    this.outputSize = source.length;
    this.bias = fill !== 0 && source.some((s) => s < 0) ? Float64Array.from(source, (s) => (s < 0 ? fill : 0)) : null;
  }

  /** Output position → input position, over every output index. */
  private static build(kind: string, layer: string, outShape: readonly number[], inShape: readonly number[], map: (index: number[]) => number[] | null, fill = 0): GatherBound {
    const total = outShape.reduce((a, b) => a * b, 1);
    const inStrides = stridesOf(inShape);
    const source = new Int32Array(total);
    const index = new Array<number>(outShape.length).fill(0);
    for (let i = 0; i < total; i++) {
      const from = map(index);
      source[i] = from === null ? -1 : from.reduce((s, v, k) => s + v * inStrides[k]!, 0);
      for (let k = outShape.length - 1; k >= 0; k--) {
        if (++index[k]! < outShape[k]!) break;
        index[k] = 0;
      }
    }
    return new GatherBound(kind, layer, outShape, source, fill);
  }

  static transpose(layer: string, inShape: readonly number[], perm: readonly number[]): GatherBound {
    const outShape = perm.map((p) => inShape[p]!);
    return GatherBound.build('transpose', layer, outShape, inShape, (index) => {
      const from = new Array<number>(inShape.length);
      perm.forEach((p, k) => (from[p] = index[k]!));
      return from;
    });
  }

  static slice(layer: string, inShape: readonly number[], begin: readonly number[], size: readonly number[]): GatherBound {
    const outShape = size.map((s, i) => (s < 0 ? inShape[i]! - begin[i]! : s));
    return GatherBound.build('slice', layer, outShape, inShape, (index) => index.map((v, k) => v + begin[k]!));
  }

  static pad(layer: string, inShape: readonly number[], pads: readonly (readonly [number, number])[], value: number): GatherBound {
    const outShape = inShape.map((d, i) => d + pads[i]![0] + pads[i]![1]);
    return GatherBound.build(
      'pad',
      layer,
      outShape,
      inShape,
      (index) => {
        const from = index.map((v, k) => v - pads[k]![0]);
        return from.every((v, k) => v >= 0 && v < inShape[k]!) ? from : null;
      },
      value,
    );
  }

  linear([x]: readonly Vec[], out: Vec): void {
    const input = x!;
    for (let i = 0; i < this.outputSize; i++) {
      const s = this.source[i]!;
      out[i] = s < 0 ? 0 : input[s]!;
    }
  }

  transpose(a: Vec, [into]: readonly Vec[]): void {
    const t = into!;
    for (let i = 0; i < this.outputSize; i++) {
      const s = this.source[i]!;
      if (s >= 0) t[s]! += a[i]!;
    }
  }
}

/** A value that depends on no input: no linear part, the value as its bias. */
export class ConstantBound implements AffineOp {
  readonly affine = true;
  readonly kind = 'constant';
  readonly outputSize: number;

  constructor(
    readonly layer: string,
    readonly outputShape: readonly number[],
    readonly bias: Vec,
  ) {
    this.outputSize = bias.length;
  }

  linear(_: readonly Vec[], out: Vec): void {
    out.fill(0);
  }

  transpose(): void {}
}
