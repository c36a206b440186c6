/**
 * MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D (channels-last), windows as tfjs
 * computes them: 'same' padding leaves padded positions out of the max and out of the average's
 * count.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AffineOp, Interval, MaxPoolBoundOp, PoolRelaxation, Vec } from './bound-op.js';

export interface PoolConfig {
  filterSize: [number, number];
  strides: [number, number];
  pad: 'same' | 'valid';
}

/** For each output (pixel-major, channels inner): the flat input offsets of its window. */
function windows(inShape: readonly number[], config: PoolConfig): { outShape: number[]; members: Int32Array[] } {
  const [inH, inW, channels] = inShape as [number, number, number];
  const info = tf.backend_util.computePool2DInfo([1, inH, inW, channels], config.filterSize, config.strides, 1, config.pad);
  const members: Int32Array[] = [];
  for (let oh = 0; oh < info.outHeight; oh++) {
    for (let ow = 0; ow < info.outWidth; ow++) {
      const pixels: number[] = [];
      for (let kh = 0; kh < info.filterHeight; kh++) {
        const ih = oh * info.strideHeight - info.padInfo.top + kh;
        if (ih < 0 || ih >= inH) continue;
        for (let kw = 0; kw < info.filterWidth; kw++) {
          const iw = ow * info.strideWidth - info.padInfo.left + kw;
          if (iw >= 0 && iw < inW) pixels.push((ih * inW + iw) * channels);
        }
      }
      for (let c = 0; c < channels; c++) members.push(Int32Array.from(pixels, (p) => p + c));
    }
  }
  return { outShape: [info.outHeight, info.outWidth, channels], members };
}

export class AvgPoolBound implements AffineOp {
  readonly affine = true;
  readonly bias = null;
  readonly outputShape: readonly number[];
  readonly outputSize: number;
  private readonly members: Int32Array[];

  constructor(
    readonly kind: string,
    readonly layer: string,
    inShape: readonly number[],
    config: PoolConfig | 'global',
  ) {
    if (config === 'global') {
      const [h, w, c] = inShape as [number, number, number];
      this.members = Array.from({ length: c }, (_, ch) => Int32Array.from({ length: h * w }, (_, p) => p * c + ch));
      this.outputShape = [c];
    } else {
      const { outShape, members } = windows(inShape, config);
      this.members = members;
      this.outputShape = outShape;
    }
    this.outputSize = this.members.length;
  }

  linear([x]: readonly Vec[], out: Vec): void {
    this.members.forEach((m, o) => {
      let s = 0;
      for (const i of m) s += x![i]!;
      out[o] = s / m.length;
    });
  }

  transpose(a: Vec, [into]: readonly Vec[]): void {
    this.members.forEach((m, o) => {
      const w = a[o]!;
      if (w === 0) return;
      const share = w / m.length;
      for (const i of m) into![i]! += share;
    });
  }
}

export class MaxPoolBound implements MaxPoolBoundOp {
  readonly affine = false;
  readonly elementwise = false;
  readonly kind = 'MaxPooling2D';
  readonly outputShape: readonly number[];
  readonly outputSize: number;
  private readonly members: Int32Array[];

  constructor(
    readonly layer: string,
    inShape: readonly number[],
    config: PoolConfig,
  ) {
    const { outShape, members } = windows(inShape, config);
    this.members = members;
    this.outputShape = outShape;
    this.outputSize = members.length;
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
      for (const i of m) if (input.lower[i]! > input.lower[pick]!) pick = i;
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
