/**
 * Geometric resampling of NHWC images by gathers, so it runs on every backend. Each output pixel
 * reads its source position through bilinear interpolation; sources outside the frame take the
 * nearest edge pixel or a constant. Integer source positions read the pixel exactly (weights 1
 * and 0), so a zero shift or angle returns the input bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Bounds } from '../../model/classifier.js';
import { fillValue, type Fill } from './types.js';

/** Source position (row, column) of output pixel (i, j). */
export type SourceMap = (i: number, j: number) => readonly [number, number];

interface Taps {
  index: Int32Array[];
  weight: Float32Array[];
  /** Total weight of taps outside the frame, which read the fill constant. */
  outside: Float32Array;
}

function taps(height: number, width: number, source: SourceMap, clampEdges: boolean): Taps {
  const n = height * width;
  const index = Array.from({ length: 4 }, () => new Int32Array(n));
  const weight = Array.from({ length: 4 }, () => new Float32Array(n));
  const outside = new Float32Array(n);
  for (let i = 0; i < height; i++) {
    for (let j = 0; j < width; j++) {
      const p = i * width + j;
      const [sy, sx] = source(i, j);
      const y0 = Math.floor(sy);
      const x0 = Math.floor(sx);
      const fy = sy - y0;
      const fx = sx - x0;
      const corners: [number, number, number][] = [
        [y0, x0, (1 - fy) * (1 - fx)],
        [y0, x0 + 1, (1 - fy) * fx],
        [y0 + 1, x0, fy * (1 - fx)],
        [y0 + 1, x0 + 1, fy * fx],
      ];
      corners.forEach(([y, x, w], k) => {
        const inside = y >= 0 && y < height && x >= 0 && x < width;
        const cy = Math.min(height - 1, Math.max(0, y));
        const cx = Math.min(width - 1, Math.max(0, x));
        index[k]![p] = cy * width + cx;
        if (inside || clampEdges) weight[k]![p] = w;
        else outside[p] = outside[p]! + w;
      });
    }
  }
  return { index, weight, outside };
}

export function warp(x: tf.Tensor, bounds: Bounds, source: SourceMap, fill: Fill, where: string): tf.Tensor {
  const [n, height, width, channels] = x.shape as [number, number, number, number];
  const constant = fillValue(fill, bounds, where);
  const { index, weight, outside } = taps(height, width, source, constant === null);
  const flat = tf.reshape(x, [n, height * width, channels]);
  let out = tf.zeros([n, height * width, channels]);
  for (let k = 0; k < 4; k++) {
    const w = tf.tensor3d(weight[k]!, [1, height * width, 1]);
    out = tf.add(out, tf.mul(tf.gather(flat, tf.tensor1d(index[k]!, 'int32'), 1), w));
  }
  if (constant !== null) out = tf.add(out, tf.mul(tf.tensor3d(outside, [1, height * width, 1]), constant));
  return tf.clipByValue(tf.reshape(out, x.shape), bounds[0], bounds[1]);
}
