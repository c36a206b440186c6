/**
 * A convolution's products with many samples at once (IBP's centres and radii, the centres of L2
 * balls), output pixel by output pixel: the pixel's input patch is gathered into one contiguous
 * vector (zeros where the window hangs over the padding), then each output channel is one dot
 * product with that channel's contiguous weights. Short loops over a few channels per tap, the
 * shape of a first convolution, cost far more than the arithmetic otherwise.
 */
import type { Vec } from './bound-op.js';

export class ConvPatches {
  /** Per output pixel, the input offset of each patch entry (−1: padding). */
  readonly index: Int32Array;
  /** The kernel per output channel, [outC, patch], and its absolute values. */
  private readonly weights: Float64Array;
  private readonly absWeights: Float64Array;
  readonly patch: number;
  /** Two gathered patches end to end: centres (or plain values) and radii. */
  private readonly pm: Float64Array;
  private readonly pr: Float64Array;

  /**
   * `windows`: per output pixel (start[p] … start[p + 1] − 1), the offsets of the input pixels and
   * kernel taps inside the image; `kernel`: [kH, kW, inC, outC].
   */
  constructor(
    windows: { start: Int32Array; input: Int32Array; kernel: Int32Array },
    kernel: Float64Array,
    private readonly inC: number,
    private readonly outC: number,
    private readonly inSize: number,
  ) {
    const pixels = windows.start.length - 1;
    this.patch = kernel.length / outC;
    this.index = new Int32Array(pixels * this.patch).fill(-1);
    for (let p = 0; p < pixels; p++) {
      for (let t = windows.start[p]!; t < windows.start[p + 1]!; t++) {
        // The tap's place in the kernel: its first weight's offset over (inC · outC).
        const tap = windows.kernel[t]! / (inC * outC);
        for (let c = 0; c < inC; c++) this.index[p * this.patch + tap * inC + c] = windows.input[t]! + c;
      }
    }
    this.weights = new Float64Array(kernel.length);
    for (let j = 0; j < this.patch; j++) for (let co = 0; co < outC; co++) this.weights[co * this.patch + j] = kernel[j * outC + co]!;
    this.absWeights = this.weights.map(Math.abs);
    this.pm = new Float64Array(2 * this.patch);
    this.pr = new Float64Array(2 * this.patch);
  }

  /**
   * For `batch` boxes (lower, upper) end to end: mid[o] = K·centre, rad[o] = |K|·radius per output
   * (outputs end to end); or, with `upper` null, mid = K·lower (a plain product). Two pixels and
   * two output channels at a time: each load of a patch entry or a weight serves two products.
   */
  products(lower: Vec, upper: Vec | null, batch: number, mid: Vec, rad: Vec | null): void {
    const { patch, outC } = this;
    const pixels = this.index.length / patch;
    const outSize = pixels * outC;
    for (let b = 0; b < batch; b++) {
      const from = b * this.inSize;
      let p = 0;
      for (; p + 2 <= pixels; p += 2) {
        this.gather(lower, upper, from, p, 0);
        this.gather(lower, upper, from, p + 1, patch);
        this.channels(b * outSize + p * outC, b * outSize + (p + 1) * outC, mid, rad, true);
      }
      if (p < pixels) {
        this.gather(lower, upper, from, p, 0);
        this.channels(b * outSize + p * outC, -1, mid, rad, false);
      }
    }
  }

  /** The patch of pixel p into pm/pr at `at` (centre and radius, or the plain values). */
  private gather(lower: Vec, upper: Vec | null, from: number, p: number, at: number): void {
    const { index, patch, pm, pr } = this;
    const ib = p * patch;
    if (upper) {
      for (let j = 0; j < patch; j++) {
        const i = index[ib + j]!;
        if (i < 0) {
          pm[at + j] = 0;
          pr[at + j] = 0;
        } else {
          const l = lower[from + i]!;
          const u = upper[from + i]!;
          pm[at + j] = (l + u) / 2;
          pr[at + j] = (u - l) / 2;
        }
      }
    } else {
      for (let j = 0; j < patch; j++) {
        const i = index[ib + j]!;
        pm[at + j] = i < 0 ? 0 : lower[from + i]!;
      }
    }
  }

  /** Every output channel of the gathered pixel(s): outputs at o0 (and o1 when `two`). */
  private channels(o0: number, o1: number, mid: Vec, rad: Vec | null, two: boolean): void {
    const { patch, outC } = this;
    this.dots(this.pm, this.weights, patch, outC, o0, o1, mid, two);
    if (rad) this.dots(this.pr, this.absWeights, patch, outC, o0, o1, rad, two);
  }

  private dots(x: Float64Array, w: Float64Array, patch: number, outC: number, o0: number, o1: number, out: Vec, two: boolean): void {
    let co = 0;
    for (; co + 2 <= outC; co += 2) {
      const w0 = co * patch;
      const w1 = w0 + patch;
      let s00 = 0, s01 = 0, s10 = 0, s11 = 0;
      if (two) {
        for (let j = 0; j < patch; j++) {
          const a = x[j]!;
          const b = x[patch + j]!;
          const u = w[w0 + j]!;
          const v = w[w1 + j]!;
          s00 += a * u;
          s01 += a * v;
          s10 += b * u;
          s11 += b * v;
        }
        out[o1 + co] = s10;
        out[o1 + co + 1] = s11;
      } else {
        for (let j = 0; j < patch; j++) {
          s00 += x[j]! * w[w0 + j]!;
          s01 += x[j]! * w[w1 + j]!;
        }
      }
      out[o0 + co] = s00;
      out[o0 + co + 1] = s01;
    }
    for (; co < outC; co++) {
      const wb = co * patch;
      let s0 = 0;
      let s1 = 0;
      for (let j = 0; j < patch; j++) {
        s0 += x[j]! * w[wb + j]!;
        if (two) s1 += x[patch + j]! * w[wb + j]!;
      }
      out[o0 + co] = s0;
      if (two) out[o1 + co] = s1;
    }
  }
}
