/**
 * Elementwise affine combinations with numpy broadcasting — add and subtract of slots, scaling by
 * and adding a constant — and concatenation along any per-sample axis.
 */
import type { AffineOp, Vec } from './bound-op.js';

/** For each output index of `outShape`, the index of the broadcast input of shape `inShape`. */
export function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const total = outShape.reduce((a, b) => a * b, 1);
  const rank = outShape.length;
  const padded = [...new Array<number>(rank - inShape.length).fill(1), ...inShape];
  const inStrides = new Array<number>(rank).fill(0);
  let stride = 1;
  for (let k = rank - 1; k >= 0; k--) {
    inStrides[k] = padded[k] === 1 ? 0 : stride;
    stride *= padded[k]!;
  }
  const map = new Int32Array(total);
  const index = new Array<number>(rank).fill(0);
  let at = 0;
  for (let i = 0; i < total; i++) {
    map[i] = at;
    for (let k = rank - 1; k >= 0; k--) {
      index[k]!++;
      at += inStrides[k]!;
      if (index[k]! < outShape[k]!) break;
      at -= inStrides[k]! * index[k]!;
      index[k] = 0;
    }
  }
  return map;
}

export interface Term {
  /** Per-sample shape of the input. */
  shape: readonly number[];
  /** Its factor: a number, or values broadcast to the output shape (a constant multiplier). */
  scale: number | Vec;
}

/** out[i] = Σ_k scale_k[i]·x_k[broadcast_k(i)] + bias[i]. */
export class BroadcastBound implements AffineOp {
  readonly affine = true;
  readonly outputSize: number;
  readonly bias: Vec | null;
  private readonly maps: (Int32Array | null)[];
  private readonly scales: Vec[];

  constructor(
    readonly kind: string,
    readonly layer: string,
    readonly outputShape: readonly number[],
    terms: readonly Term[],
    bias: Vec | null,
  ) {
    const n = outputShape.reduce((a, b) => a * b, 1);
    this.outputSize = n;
    this.maps = terms.map((t) => (t.shape.reduce((a, b) => a * b, 1) === n ? null : broadcastIndex(t.shape, outputShape)));
    this.scales = terms.map((t) => (typeof t.scale === 'number' ? new Float64Array(n).fill(t.scale) : t.scale));
    this.bias = bias;
  }

  linear(inputs: readonly Vec[], out: Vec, abs: boolean): void {
    out.fill(0);
    inputs.forEach((x, k) => {
      const map = this.maps[k];
      const scale = this.scales[k]!;
      for (let i = 0; i < this.outputSize; i++) {
        const s = abs ? Math.abs(scale[i]!) : scale[i]!;
        out[i]! += s * x[map ? map[i]! : i]!;
      }
    });
  }

  transpose(a: Vec, into: readonly Vec[]): void {
    into.forEach((t, k) => {
      const map = this.maps[k];
      const scale = this.scales[k]!;
      for (let i = 0; i < this.outputSize; i++) {
        const w = a[i]!;
        if (w !== 0) t[map ? map[i]! : i]! += w * scale[i]!;
      }
    });
  }
}

export class ConcatenateBound implements AffineOp {
  readonly affine = true;
  readonly kind = 'concat';
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
