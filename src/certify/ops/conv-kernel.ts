/**
 * A convolution's IBP (and plain products) on the SIMD kernels (wasm/kernels.wat): per output
 * pixel the patch's centres and radii are gathered inside the kernel, then eight output channels
 * at a time are two dot products each, the bias added and c ∓ r written, in one call for every
 * sample. The kernel, |kernel|, bias and patch offsets are copied into the kernel's memory once;
 * each call copies the input boxes in and the bounds out.
 */
import type { Interval, Vec } from './bound-op.js';
import { align, KernelHeap } from '../wasm/heap.js';

/**
 * L2 balls the convolution's outputs are also bounded over (an affine function of the input):
 * per sample its centre (as the input boxes are laid out) and radius, and per output ‖row‖₂.
 */
export interface BallBounds {
  centres: Vec;
  epsilons: Float64Array;
  norms: Vec;
}

export class ConvKernel {
  private readonly chunks: number;
  private readonly kernel: number;
  private readonly absKernel: number;
  private readonly bias: number;
  private readonly index: number;
  private readonly pixels: number;

  private constructor(
    private readonly heap: KernelHeap,
    /** Per output pixel, the input offset of each patch entry (−1: padding). */
    index: Int32Array,
    /** [patch, outC]: the kernel [kH, kW, inC, outC] flattened. */
    kernel: Float64Array,
    bias: Vec | null,
    private readonly patch: number,
    private readonly outC: number,
    private readonly inSize: number,
  ) {
    this.chunks = Math.ceil(outC / 8);
    const padded = this.chunks * 8;
    this.pixels = index.length / patch;
    this.kernel = heap.keep(patch * padded * 8);
    this.absKernel = heap.keep(patch * padded * 8);
    this.bias = heap.keep(padded * 8);
    this.index = heap.keep(index.length * 4);
    const f64 = heap.f64;
    for (let j = 0; j < patch; j++) {
      for (let co = 0; co < outC; co++) {
        const w = kernel[j * outC + co]!;
        f64[(this.kernel >> 3) + j * padded + co] = w;
        f64[(this.absKernel >> 3) + j * padded + co] = Math.abs(w);
      }
    }
    if (bias) for (let co = 0; co < outC; co++) f64[(this.bias >> 3) + co] = bias[co]!;
    const i32 = heap.i32;
    for (let k = 0; k < index.length; k++) i32[(this.index >> 2) + k] = index[k]! < 0 ? -1 : index[k]! * 8;
  }

  /** The kernel route for this convolution, or null where the kernels do not run. */
  static create(index: Int32Array, kernel: Float64Array, bias: Vec | null, patch: number, outC: number, inSize: number): ConvKernel | null {
    const heap = KernelHeap.create();
    return heap ? new ConvKernel(heap, index, kernel, bias, patch, outC, inSize) : null;
  }

  /**
   * IBP of `batch` boxes end to end into lower and upper (outputs end to end); with `upper`
   * null, the plain product K·x + b of `lower` into `out.lower` (`out.upper` gets it too).
   */
  run(lower: Vec, upper: Vec | null, batch: number, out: Interval): void {
    const { heap, chunks, pixels } = this;
    const padded = chunks * 8;
    const inBytes = this.inSize * 8;
    const outBytes = batch * pixels * padded * 8;
    const lowerAt = heap.workBase;
    const upperAt = upper ? align(lowerAt + batch * inBytes) : lowerAt;
    const tmp = align(upperAt + batch * inBytes);
    const outLower = align(tmp + 24 * this.patch);
    const outUpper = align(outLower + outBytes);
    heap.ensure(outUpper + outBytes);
    const f64 = heap.f64;
    f64.set(lower.subarray(0, batch * this.inSize), lowerAt >> 3);
    if (upper) f64.set(upper.subarray(0, batch * this.inSize), upperAt >> 3);
    heap.convInterval(lowerAt, upperAt, inBytes, this.index, this.patch, pixels, batch, this.kernel, this.absKernel, chunks, this.bias, tmp, outLower, outUpper);
    this.copyOut(f64, outLower, outUpper, batch * pixels, out, upper !== null);
  }

  /** Pool windows (as pixel lists) in the kernel's memory, per pool they came from. */
  private readonly pools = new WeakMap<object, { windows: number; start: number; count: number }>();

  /**
   * IBP of the convolution, a relu and a max pool at once, for `batch` boxes end to end: `pool`
   * (its `owner` keys the copy of its windows) lists per pooled pixel the convolution's output
   * pixels of its window. Writes the pool's bounds ([batch][windows][outC]) into out. With `ball`
   * the convolution's outputs are first intersected with their bounds over the L2 balls.
   */
  reluPool(lower: Vec, upper: Vec, batch: number, pool: { owner: object; start: Int32Array; pixels: Int32Array }, out: Interval, ball?: BallBounds): void {
    const { heap, chunks } = this;
    const padded = chunks * 8;
    const norms = ball ? this.placeNorms(ball.norms) : -1;
    let placed = this.pools.get(pool.owner);
    if (!placed) {
      const count = pool.start.length - 1;
      placed = { windows: heap.keep(pool.pixels.length * 4), start: heap.keep(pool.start.length * 4), count };
      heap.i32.set(pool.pixels, placed.windows >> 2);
      heap.i32.set(pool.start, placed.start >> 2);
      this.pools.set(pool.owner, placed);
    }
    const inBytes = this.inSize * 8;
    const outBytes = batch * placed.count * padded * 8;
    const lowerAt = heap.workBase;
    const upperAt = align(lowerAt + batch * inBytes);
    const tmp = align(upperAt + batch * inBytes);
    const pixLo = align(tmp + 24 * this.patch);
    const pixHi = pixLo + padded * 8;
    const outLower = align(pixHi + padded * 8);
    const outUpper = align(outLower + outBytes);
    const centres = ball ? align(outUpper + outBytes) : -1;
    const epsilons = ball ? align(centres + batch * inBytes) : -1;
    heap.ensure(ball ? epsilons + 8 * batch : outUpper + outBytes);
    const f64 = heap.f64;
    f64.set(lower.subarray(0, batch * this.inSize), lowerAt >> 3);
    f64.set(upper.subarray(0, batch * this.inSize), upperAt >> 3);
    if (ball) {
      f64.set(ball.centres.subarray(0, batch * this.inSize), centres >> 3);
      f64.set(ball.epsilons, epsilons >> 3);
    }
    heap.convReluPool(lowerAt, upperAt, inBytes, this.index, this.patch, placed.windows, placed.start, placed.count, batch, this.kernel, this.absKernel, chunks, this.bias, tmp, pixLo, pixHi, outLower, outUpper, centres, epsilons, norms);
    this.copyOut(f64, outLower, outUpper, batch * placed.count, out, true);
  }

  /** Row norms in the kernel's memory ([pixels][chunks·8]), per array they came from. */
  private readonly norms = new WeakMap<Vec, number>();

  private placeNorms(norms: Vec): number {
    let at = this.norms.get(norms);
    if (at !== undefined) return at;
    const padded = this.chunks * 8;
    at = this.heap.keep(this.pixels * padded * 8);
    const f64 = this.heap.f64;
    for (let p = 0; p < this.pixels; p++) f64.set(norms.subarray(p * this.outC, (p + 1) * this.outC), (at >> 3) + p * padded);
    this.norms.set(norms, at);
    return at;
  }

  /** `count` rows of padded channels in the kernel's memory into out (outC per row). */
  private copyOut(f64: Float64Array, outLower: number, outUpper: number, count: number, out: Interval, both: boolean): void {
    const { outC } = this;
    const padded = this.chunks * 8;
    if (padded === outC) {
      out.lower.set(f64.subarray(outLower >> 3, (outLower >> 3) + count * outC));
      if (both) out.upper.set(f64.subarray(outUpper >> 3, (outUpper >> 3) + count * outC));
      return;
    }
    for (let q = 0; q < count; q++) {
      out.lower.set(f64.subarray((outLower >> 3) + q * padded, (outLower >> 3) + q * padded + outC), q * outC);
      if (both) out.upper.set(f64.subarray((outUpper >> 3) + q * padded, (outUpper >> 3) + q * padded + outC), q * outC);
    }
  }
}
