/**
 * Conv2D and DepthwiseConv2D (channel multiplier), channels-last, with strides, dilations and any
 * padding of the model graph ('same', 'valid' or explicit pads), resolved by the graph's own
 * explicitPads so that padding offsets match every executor's forward.
 */
import { explicitPads } from '../../graph/shapes.js';
import type { Padding } from '../../graph/types.js';
import { fresh, type AffineOp, type Allocate, type Interval, type Vec } from './bound-op.js';
import type { Support } from '../support.js';
import { ConvPatches } from './conv-patches.js';
import { ConvKernel, type BallBounds } from './conv-kernel.js';
import type { MaxPoolBound } from './pooling.js';

interface Geometry {
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  top: number;
  left: number;
}

function geometry(
  inShape: readonly number[],
  kernel: readonly [number, number],
  strides: readonly [number, number],
  dilations: readonly [number, number],
  padding: Padding,
): Geometry {
  const [inH, inW, inC] = inShape as [number, number, number];
  const [top, bottom, left, right] = explicitPads(padding, [inH, inW], kernel, strides, dilations);
  const out = (n: number, k: number, s: number, d: number, before: number, after: number) => Math.floor((n + before + after - ((k - 1) * d + 1)) / s) + 1;
  return {
    inH,
    inW,
    inC,
    outH: out(inH, kernel[0], strides[0], dilations[0], top, bottom),
    outW: out(inW, kernel[1], strides[1], dilations[1], left, right),
    kH: kernel[0],
    kW: kernel[1],
    strideH: strides[0],
    strideW: strides[1],
    dilationH: dilations[0],
    dilationW: dilations[1],
    top,
    left,
  };
}

/**
 * Every (output pixel, kernel tap) pair whose input pixel is inside the image, grouped by output
 * pixel: offsets of the input pixel's first channel and of the tap's first kernel weight.
 */
interface Taps {
  /** Output pixel p owns entries start[p] … start[p + 1] − 1. */
  start: Int32Array;
  input: Int32Array;
  kernel: Int32Array;
}

function taps(g: Geometry, kernelStride: number): Taps {
  const start = new Int32Array(g.outH * g.outW + 1);
  const input: number[] = [];
  const kernel: number[] = [];
  for (let oh = 0; oh < g.outH; oh++) {
    for (let ow = 0; ow < g.outW; ow++) {
      start[oh * g.outW + ow] = input.length;
      for (let kh = 0; kh < g.kH; kh++) {
        const ih = oh * g.strideH - g.top + kh * g.dilationH;
        if (ih < 0 || ih >= g.inH) continue;
        for (let kw = 0; kw < g.kW; kw++) {
          const iw = ow * g.strideW - g.left + kw * g.dilationW;
          if (iw < 0 || iw >= g.inW) continue;
          input.push((ih * g.inW + iw) * g.inC);
          kernel.push((kh * g.kW + kw) * kernelStride);
        }
      }
    }
  }
  start[g.outH * g.outW] = input.length;
  return { start, input: Int32Array.from(input), kernel: Int32Array.from(kernel) };
}

/** Calls `visit` for each tap of each output pixel (with the pixel's first output offset). */
function eachTap(t: Taps, outC: number, visit: (outBase: number, inBase: number, kernelBase: number) => void, skip?: (outBase: number) => boolean): void {
  const pixels = t.start.length - 1;
  for (let p = 0; p < pixels; p++) {
    const o = p * outC;
    if (skip?.(o)) continue;
    for (let k = t.start[p]!; k < t.start[p + 1]!; k++) visit(o, t.input[k]!, t.kernel[k]!);
  }
}

/** A per-channel bias repeated over every output pixel. */
function perPixel(bias: Vec | null, pixels: number): Vec | null {
  if (!bias) return null;
  const out = new Float64Array(bias.length * pixels);
  for (let p = 0; p < pixels; p++) out.set(bias, p * bias.length);
  return out;
}

function anyNonZero(a: Vec, from: number, count: number): boolean {
  for (let i = from; i < from + count; i++) if (a[i] !== 0) return true;
  return false;
}

export class Conv2DBound implements AffineOp {
  readonly affine = true;
  readonly kind = 'conv2d';
  readonly bias: Vec | null;
  readonly outputShape: readonly number[];
  readonly outputSize: number;
  private readonly g: Geometry;
  private readonly kernel: Float64Array;
  private readonly absKernel: Float64Array;
  private readonly outC: number;
  private readonly taps: Taps;
  private readonly patches: ConvPatches;
  /** The bias per output channel, as the graph gives it. */
  private readonly channelBias: Vec | null;
  /** The SIMD route, made on first use (null where the kernels do not run). */
  private simd: ConvKernel | null | undefined;
  private readonly inSize: number;
  /**
   * transposeSparse()'s scratch: the pixels it visits; at one pixel, the rows nonzero there, and
   * per such row its nonzero channels, their coefficients and count.
   */
  private readonly pixels: Int32Array;
  /** Per output pixel, the channels listed in the support (outC slots per pixel) and how many. */
  private readonly listed: Int32Array;
  private readonly listedCount: Int32Array;
  private live = new Int32Array(0);
  private channels = new Int32Array(0);
  private values = new Float64Array(0);
  private lengths = new Int32Array(0);

  /** kernel: [kH, kW, inC, outC]. */
  constructor(
    readonly layer: string,
    inShape: readonly number[],
    kernel: ArrayLike<number>,
    kernelShape: readonly [number, number, number, number],
    bias: Vec | null,
    strides: readonly [number, number],
    dilations: readonly [number, number],
    padding: Padding,
  ) {
    this.outC = kernelShape[3];
    this.g = geometry(inShape, [kernelShape[0], kernelShape[1]], strides, dilations, padding);
    this.kernel = Float64Array.from(kernel);
    this.absKernel = this.kernel.map(Math.abs);
    this.outputShape = [this.g.outH, this.g.outW, this.outC];
    this.outputSize = this.g.outH * this.g.outW * this.outC;
    this.bias = perPixel(bias, this.g.outH * this.g.outW);
    this.channelBias = bias;
    this.taps = taps(this.g, this.g.inC * this.outC);
    this.inSize = this.g.inH * this.g.inW * this.g.inC;
    this.patches = new ConvPatches(this.taps, this.kernel, this.g.inC, this.outC, this.inSize);
    this.pixels = new Int32Array(this.g.outH * this.g.outW);
    this.listed = new Int32Array(this.outputSize);
    this.listedCount = new Int32Array(this.g.outH * this.g.outW);
  }

  linear([x]: readonly Vec[], out: Vec, abs: boolean): void {
    out.fill(0);
    const k = abs ? this.absKernel : this.kernel;
    const { inC } = this.g;
    const outC = this.outC;
    eachTap(this.taps, outC, (o, i, kb) => {
      for (let ci = 0; ci < inC; ci++) {
        const v = x![i + ci]!;
        if (v === 0) continue;
        const row = kb + ci * outC;
        for (let co = 0; co < outC; co++) out[o + co]! += v * k[row + co]!;
      }
    });
  }

  transpose(a: Vec, [into]: readonly Vec[]): void {
    const { inC } = this.g;
    const outC = this.outC;
    eachTap(
      this.taps,
      outC,
      (o, i, kb) => {
        for (let ci = 0; ci < inC; ci++) {
          const row = kb + ci * outC;
          let s = 0;
          for (let co = 0; co < outC; co++) s += a[o + co]! * this.kernel[row + co]!;
          into![i + ci]! += s;
        }
      },
      (o) => !anyNonZero(a, o, outC),
    );
  }

  /**
   * The listed outputs' pixels, each once: for every row nonzero at such a pixel, its nonzero
   * channels among those listed there, then each tap of the pixel gets inC sums over them. A
   * row carried back from one neuron touches only the pixels of its receptive field, and there
   * often a channel or two (the one neuron; the inputs a max pool chose).
   */
  transposeSparse(a: Vec, rows: number, from: Support, into: Vec, to: Support): void {
    const { inC } = this.g;
    const outC = this.outC;
    const n = this.outputSize;
    const inSize = this.inSize;
    const { start, input, kernel: tap } = this.taps;
    const pixels = this.pixels;
    const { listed, listedCount } = this;
    // The listed outputs grouped by pixel: per pixel, its listed channels.
    let count = 0;
    if (from.full) {
      for (let p = 0; p < listedCount.length; p++) {
        pixels[count++] = p;
        listedCount[p] = outC;
        for (let co = 0; co < outC; co++) listed[p * outC + co] = co;
      }
    } else {
      for (let t = 0; t < from.count; t++) {
        const e = from.at(t);
        const p = (e / outC) | 0;
        if (listedCount[p] === 0) pixels[count++] = p;
        listed[p * outC + listedCount[p]!++] = e - p * outC;
      }
    }
    if (this.live.length < rows) {
      this.live = new Int32Array(rows);
      this.channels = new Int32Array(rows * outC);
      this.values = new Float64Array(rows * outC);
      this.lengths = new Int32Array(rows);
    }
    const { live, channels, values, lengths } = this;
    const kernel = this.kernel;
    for (let q = 0; q < count; q++) {
      const p = pixels[q]!;
      const o = p * outC;
      const ln = listedCount[p]!;
      listedCount[p] = 0;
      // Per row nonzero here, its nonzero channels (among the listed) and their coefficients.
      let k = 0;
      for (let j = 0; j < rows; j++) {
        const ao = j * n + o;
        const cb = k * outC;
        let m = 0;
        for (let c = 0; c < ln; c++) {
          const co = listed[o + c]!;
          const w = a[ao + co]!;
          if (w === 0) continue;
          channels[cb + m] = co;
          values[cb + m++] = w;
        }
        if (m === 0) continue;
        lengths[k] = m;
        live[k++] = j;
      }
      if (k === 0) continue;
      for (let t = start[p]!; t < start[p + 1]!; t++) {
        const i = input[t]!;
        const kb = tap[t]!;
        to.addRange(i, inC);
        for (let r = 0; r < k; r++) {
          const io = live[r]! * inSize + i;
          const cb = r * outC;
          const m = lengths[r]!;
          for (let ci = 0; ci < inC; ci++) {
            const row = kb + ci * outC;
            let s = 0;
            for (let c = 0; c < m; c++) s += values[cb + c]! * kernel[row + channels[cb + c]!]!;
            into[io + ci]! += s;
          }
        }
      }
    }
  }

  private kernelRoute(): ConvKernel | null {
    if (this.simd === undefined) this.simd = ConvKernel.create(this.patches.index, this.kernel, this.channelBias, this.patches.patch, this.outC, this.inSize);
    return this.simd;
  }

  intervalBatch(input: Interval, batch: number, allocate: Allocate = fresh): Interval {
    const size = this.outputSize;
    const lower = allocate(batch * size);
    const upper = allocate(batch * size);
    const kernel = this.kernelRoute();
    if (kernel) {
      kernel.run(input.lower, input.upper, batch, { lower, upper });
      return { lower, upper };
    }
    this.patches.products(input.lower, input.upper, batch, lower, upper);
    const bias = this.bias;
    for (let b = 0; b < batch; b++) {
      const to = b * size;
      for (let j = 0; j < size; j++) {
        const c = lower[to + j]! + (bias ? bias[j]! : 0);
        const r = upper[to + j]!;
        lower[to + j] = c - r;
        upper[to + j] = c + r;
      }
    }
    return { lower, upper };
  }

  /**
   * IBP of this convolution, a relu and `pool` (a max pool over this convolution's output) at
   * once, without the bounds of the two in between; null where the kernels do not run. `ball`:
   * this convolution's outputs are bounded over L2 balls too (see ConvKernel).
   */
  intervalReluPool(input: Interval, pool: MaxPoolBound, batch: number, allocate: Allocate = fresh, ball?: BallBounds): Interval | null {
    const kernel = this.kernelRoute();
    if (!kernel) return null;
    const lower = allocate(batch * pool.outputSize);
    const upper = allocate(batch * pool.outputSize);
    kernel.reluPool(input.lower, input.upper, batch, pool.pixelWindows(), { lower, upper }, ball);
    return { lower, upper };
  }

  linearBatch(input: Vec, batch: number, allocate: Allocate = fresh): Vec {
    const size = this.outputSize;
    const out = allocate(batch * size);
    const kernel = this.kernelRoute();
    if (kernel) {
      kernel.run(input, null, batch, { lower: out, upper: out });
      return out;
    }
    this.patches.products(input, null, batch, out, null);
    const bias = this.bias;
    if (bias) for (let b = 0; b < batch; b++) for (let j = 0; j < size; j++) out[b * size + j]! += bias[j]!;
    return out;
  }
}

/** DepthwiseConv2D: output channel c·m + j reads input channel c only. */
export class DepthwiseConv2DBound implements AffineOp {
  readonly affine = true;
  readonly kind = 'depthwiseConv2d';
  readonly bias: Vec | null;
  readonly outputShape: readonly number[];
  readonly outputSize: number;
  private readonly g: Geometry;
  private readonly kernel: Float64Array;
  private readonly multiplier: number;
  private readonly taps: Taps;

  /** kernel: [kH, kW, inC, multiplier]. */
  constructor(
    readonly layer: string,
    inShape: readonly number[],
    kernel: ArrayLike<number>,
    kernelShape: readonly [number, number, number, number],
    bias: Vec | null,
    strides: readonly [number, number],
    dilations: readonly [number, number],
    padding: Padding,
  ) {
    this.multiplier = kernelShape[3];
    const outC = kernelShape[2] * this.multiplier;
    this.g = geometry(inShape, [kernelShape[0], kernelShape[1]], strides, dilations, padding);
    this.kernel = Float64Array.from(kernel);
    this.outputShape = [this.g.outH, this.g.outW, outC];
    this.outputSize = this.g.outH * this.g.outW * outC;
    this.bias = perPixel(bias, this.g.outH * this.g.outW);
    this.taps = taps(this.g, this.g.inC * this.multiplier);
  }

  linear([x]: readonly Vec[], out: Vec, abs: boolean): void {
    out.fill(0);
    const { inC } = this.g;
    const m = this.multiplier;
    eachTap(this.taps, inC * m, (o, i, kb) => {
      for (let c = 0; c < inC; c++) {
        const v = x![i + c]!;
        for (let j = 0; j < m; j++) {
          const w = this.kernel[kb + c * m + j]!;
          out[o + c * m + j]! += v * (abs ? Math.abs(w) : w);
        }
      }
    });
  }

  transpose(a: Vec, [into]: readonly Vec[]): void {
    const { inC } = this.g;
    const m = this.multiplier;
    eachTap(
      this.taps,
      inC * m,
      (o, i, kb) => {
        for (let c = 0; c < inC; c++) {
          let s = 0;
          for (let j = 0; j < m; j++) s += a[o + c * m + j]! * this.kernel[kb + c * m + j]!;
          into![i + c]! += s;
        }
      },
      (o) => !anyNonZero(a, o, inC * m),
    );
  }
}
