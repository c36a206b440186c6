/**
 * Max and average pooling over the spatial axes (channels-last) with any padding of the model
 * graph, and the mean over per-sample axes (global average pooling). Padded positions never win
 * a max; they count in an average's divisor only where the graph says so (ONNX
 * count_include_pad with explicit pads).
 */
import { explicitPads } from '../../graph/shapes.js';
import type { Padding } from '../../graph/types.js';
import { fresh, type AffineOp, type Allocate, type Interval, type MaxPoolBoundOp, type PoolRelaxation, type Vec } from './bound-op.js';

export interface PoolConfig {
  size: readonly [number, number];
  strides: readonly [number, number];
  padding: Padding;
}

/** For each output (pixel-major, channels inner): the flat input offsets of its window. */
function windows(inShape: readonly number[], config: PoolConfig): { outShape: number[]; members: Int32Array[] } {
  const [inH, inW, channels] = inShape as [number, number, number];
  const [kH, kW] = config.size;
  const [sH, sW] = config.strides;
  const [top, bottom, left, right] = explicitPads(config.padding, [inH, inW], config.size, config.strides);
  const outH = Math.floor((inH + top + bottom - kH) / sH) + 1;
  const outW = Math.floor((inW + left + right - kW) / sW) + 1;
  const members: Int32Array[] = [];
  for (let oh = 0; oh < outH; oh++) {
    for (let ow = 0; ow < outW; ow++) {
      const pixels: number[] = [];
      for (let kh = 0; kh < kH; kh++) {
        const ih = oh * sH - top + kh;
        if (ih < 0 || ih >= inH) continue;
        for (let kw = 0; kw < kW; kw++) {
          const iw = ow * sW - left + kw;
          if (iw >= 0 && iw < inW) pixels.push((ih * inW + iw) * channels);
        }
      }
      for (let c = 0; c < channels; c++) members.push(Int32Array.from(pixels, (p) => p + c));
    }
  }
  return { outShape: [outH, outW, channels], members };
}

/** out[o] = Σ x[members[o]] / divisor[o]: average pooling and means. */
export class AverageBound implements AffineOp {
  readonly affine = true;
  readonly bias = null;
  readonly outputSize: number;

  private constructor(
    readonly kind: string,
    readonly layer: string,
    readonly outputShape: readonly number[],
    private readonly members: readonly Int32Array[],
    private readonly divisors: Float64Array,
  ) {
    this.outputSize = members.length;
  }

  static pool(layer: string, inShape: readonly number[], config: PoolConfig, countPadding: boolean): AverageBound {
    const { outShape, members } = windows(inShape, config);
    const counted = countPadding && typeof config.padding !== 'string';
    const full = config.size[0] * config.size[1];
    return new AverageBound('avgPool', layer, outShape, members, Float64Array.from(members, (m) => (counted ? full : m.length)));
  }

  /** The mean over `axes` of a per-sample shape; `outShape` as the graph gives it (keepDims or not). */
  static mean(layer: string, inShape: readonly number[], axes: readonly number[], outShape: readonly number[]): AverageBound {
    const reduced = new Set(axes.map((a) => (a < 0 ? a + inShape.length : a)));
    const kept = inShape.map((_, i) => i).filter((i) => !reduced.has(i));
    const keptShape = kept.map((i) => inShape[i]!);
    const outputs = keptShape.reduce((a, b) => a * b, 1);
    const lists: number[][] = Array.from({ length: outputs }, () => []);
    const total = inShape.reduce((a, b) => a * b, 1);
    const index = new Array<number>(inShape.length).fill(0);
    for (let i = 0; i < total; i++) {
      let o = 0;
      for (const k of kept) o = o * inShape[k]! + index[k]!;
      lists[o]!.push(i);
      for (let k = inShape.length - 1; k >= 0; k--) {
        if (++index[k]! < inShape[k]!) break;
        index[k] = 0;
      }
    }
    const members = lists.map((l) => Int32Array.from(l));
    return new AverageBound('mean', layer, outShape, members, Float64Array.from(members, (m) => m.length));
  }

  linear([x]: readonly Vec[], out: Vec): void {
    const input = x!;
    this.members.forEach((m, o) => {
      let s = 0;
      for (const i of m) s += input[i]!;
      out[o] = s / this.divisors[o]!;
    });
  }

  transpose(a: Vec, [into]: readonly Vec[]): void {
    const t = into!;
    this.members.forEach((m, o) => {
      const w = a[o]!;
      if (w === 0) return;
      const share = w / this.divisors[o]!;
      for (const i of m) t[i]! += share;
    });
  }
}

/**
 * Lower bounds this close count as tied and the first input wins: windows that are the same in
 * exact arithmetic (a uniform background) then get the same choice whatever order their bounds
 * were summed in. Any choice is sound; this one does not hinge on rounding.
 */
const TIE = 1e-12;

export class MaxPoolBound implements MaxPoolBoundOp {
  readonly affine = false;
  readonly elementwise = false;
  readonly kind = 'maxPool';
  readonly outputShape: readonly number[];
  readonly outputSize: number;
  private readonly members: Int32Array[];
  /** The windows end to end: output o reads flat[start[o]] … flat[start[o + 1] − 1]. */
  private readonly start: Int32Array;
  private readonly flat: Int32Array;
  private readonly inputSize: number;

  constructor(
    readonly layer: string,
    inShape: readonly number[],
    config: PoolConfig,
  ) {
    const { outShape, members } = windows(inShape, config);
    this.members = members;
    this.outputShape = outShape;
    this.outputSize = members.length;
    this.inputSize = inShape.reduce((a, b) => a * b, 1);
    this.start = new Int32Array(members.length + 1);
    members.forEach((m, o) => (this.start[o + 1] = this.start[o]! + m.length));
    this.flat = new Int32Array(this.start[members.length]!);
    members.forEach((m, o) => this.flat.set(m, this.start[o]!));
  }

  private windowsByPixel: { owner: object; start: Int32Array; pixels: Int32Array } | undefined;

  /**
   * Per output pixel, the input pixels of its window (the same for every channel: channel 0's
   * members over the channel count), for kernels that pool a convolution's output as they go.
   */
  pixelWindows(): { owner: object; start: Int32Array; pixels: Int32Array } {
    if (this.windowsByPixel) return this.windowsByPixel;
    const channels = this.outputShape[2]!;
    const count = this.outputSize / channels;
    const start = new Int32Array(count + 1);
    const pixels: number[] = [];
    for (let q = 0; q < count; q++) {
      for (const i of this.members[q * channels]!) pixels.push(i / channels);
      start[q + 1] = pixels.length;
    }
    return (this.windowsByPixel = { owner: this, start, pixels: Int32Array.from(pixels) });
  }

  intervalBatch(input: Interval, batch: number, allocate: Allocate = fresh): Interval {
    const n = this.outputSize;
    const lower = allocate(batch * n);
    const upper = allocate(batch * n);
    const { start, flat } = this;
    const { lower: l, upper: u } = input;
    for (let b = 0; b < batch; b++) {
      const from = b * this.inputSize;
      const to = b * n;
      for (let o = 0; o < n; o++) {
        let low = -Infinity;
        let high = -Infinity;
        for (let k = start[o]!; k < start[o + 1]!; k++) {
          const i = from + flat[k]!;
          if (l[i]! > low) low = l[i]!;
          if (u[i]! > high) high = u[i]!;
        }
        lower[to + o] = low;
        upper[to + o] = high;
      }
    }
    return { lower, upper };
  }

  evaluate(x: Vec, out: Vec): void {
    this.members.forEach((m, o) => {
      let best = -Infinity;
      for (const i of m) best = Math.max(best, x[i]!);
      out[o] = best;
    });
  }

  interval(input: Interval): Interval {
    const lower = new Float64Array(this.outputSize);
    const upper = new Float64Array(this.outputSize);
    this.evaluate(input.lower, lower);
    this.evaluate(input.upper, upper);
    return { lower, upper };
  }

  relax(input: Interval): PoolRelaxation {
    const chosen = new Int32Array(this.outputSize);
    const exact = new Uint8Array(this.outputSize);
    const ceiling = new Float64Array(this.outputSize);
    this.members.forEach((m, o) => {
      let pick = m[0]!;
      for (const i of m) if (input.lower[i]! > input.lower[pick]! + TIE * (1 + Math.abs(input.lower[pick]!))) pick = i;
      let others = -Infinity;
      let top = -Infinity;
      for (const i of m) {
        top = Math.max(top, input.upper[i]!);
        if (i !== pick) others = Math.max(others, input.upper[i]!);
      }
      chosen[o] = pick;
      exact[o] = input.lower[pick]! >= others ? 1 : 0;
      ceiling[o] = top;
    });
    return { chosen, exact, ceiling };
  }
}
