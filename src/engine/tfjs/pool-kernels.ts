/**
 * Input gradients of 2-D max and average pooling as tfjs kernels for the backends whose tensors
 * live in JavaScript-reachable memory (cpu, and wasm's heap). tfjs's own MaxPoolGrad costs
 * some 30–40× the forward max pool there (measured on a 500-digit MNIST batch, wasm and cpu),
 * and its AvgPoolGrad divides by the full window size even where the forward pass divided by
 * the number of in-bounds pixels ('same' padding), which is not the gradient of the forward
 * pass.
 *
 * Semantics follow the forward kernels exactly: a max window routes its gradient to the first
 * (row-major) in-bounds position holding the maximum, as tfjs's cpu MaxPoolGrad does (wasm's
 * breaks ties differently); an average window spreads it evenly over its in-bounds positions.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TfPadding } from './padding.js';
import { onHost, registerHostKernel } from './host-memory.js';

export const MAX_POOL_BACKPROP = 'RobustestMaxPoolBackprop';
export const AVG_POOL_BACKPROP = 'RobustestAvgPoolBackprop';

export interface PoolAttrs {
  filterSize: [number, number];
  strides: [number, number];
  pad: TfPadding;
  /**
   * Max pooling only: the pooled input is a relu output and the caller will not apply the relu
   * mask, so a window whose maximum is not positive passes no gradient (its relu is flat there).
   */
  reluGate: boolean;
}

function geometry(xShape: number[], attrs: PoolAttrs) {
  return tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], attrs.filterSize, attrs.strides, 1, attrs.pad);
}

/**
 * 2×2 windows at stride 2 without padding (the common case, written out). An odd last row or
 * column belongs to no window.
 */
function stride2x2(xShape: number[], attrs: PoolAttrs): boolean {
  const info = geometry(xShape, attrs);
  return (
    info.filterHeight === 2 &&
    info.filterWidth === 2 &&
    info.strideHeight === 2 &&
    info.strideWidth === 2 &&
    info.padInfo.top === 0 &&
    info.padInfo.left === 0 &&
    info.outHeight === Math.floor(info.inHeight / 2) &&
    info.outWidth === Math.floor(info.inWidth / 2)
  );
}

/**
 * Routing by equality with the pooled value y (exact: a max is not rounded) rather than by
 * recomputing the maximum, and without branches on the data: on random-looking activations a
 * branch per pixel mispredicts half the time and costs several times the arithmetic. Every
 * pixel inside a window is written; `dx` must be zero-filled only when H or W is odd.
 */
function maxPoolBackprop2x2(x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array, xShape: number[], gate: boolean): void {
  const [batch, H, W, C] = xShape as [number, number, number, number];
  const Ho = Math.floor(H / 2);
  const Wo = Math.floor(W / 2);
  const row = W * C;
  for (let b = 0; b < batch; b++) {
    for (let yR = 0; yR < Ho; yR++) {
      const top = (b * H + 2 * yR) * row;
      let out = (b * Ho + yR) * Wo * C;
      for (let yC = 0; yC < Wo; yC++, out += C) {
        const p0 = top + 2 * yC * C;
        const p1 = p0 + C;
        const p2 = p0 + row;
        const p3 = p2 + C;
        for (let d = 0; d < C; d++) {
          const max = y[out + d]!;
          const g = !gate || max > 0 ? dy[out + d]! : 0;
          const e0 = +(x[p0 + d] === max);
          const e1 = +(x[p1 + d] === max) & (e0 ^ 1);
          const e01 = e0 | e1;
          const e2 = +(x[p2 + d] === max) & (e01 ^ 1);
          const e3 = (e01 | e2) ^ 1;
          dx[p0 + d] = g * e0;
          dx[p1 + d] = g * e1;
          dx[p2 + d] = g * e2;
          dx[p3 + d] = g * e3;
        }
      }
    }
  }
}

/** An input window, clipped to the image: rows [rMin, rMax), columns [cMin, cMax) of image b. */
interface Window {
  b: number;
  rMin: number;
  rMax: number;
  cMin: number;
  cMax: number;
  /** Offset of the window's pooled values (all channels) in the output. */
  out: number;
}

/** Visits every pooling window of any geometry; padded positions are left out of its bounds. */
function forEachWindow(xShape: number[], attrs: PoolAttrs, visit: (w: Window) => void): void {
  const info = geometry(xShape, attrs);
  const { batchSize, inHeight: H, inWidth: W, outHeight: Ho, outWidth: Wo, inChannels: C, strideHeight, strideWidth } = info;
  const w: Window = { b: 0, rMin: 0, rMax: 0, cMin: 0, cMax: 0, out: 0 };
  for (w.b = 0; w.b < batchSize; w.b++) {
    for (let yR = 0; yR < Ho; yR++) {
      const rCorner = yR * strideHeight - info.padInfo.top;
      w.rMin = Math.max(0, rCorner);
      w.rMax = Math.min(H, rCorner + info.effectiveFilterHeight);
      for (let yC = 0; yC < Wo; yC++) {
        const cCorner = yC * strideWidth - info.padInfo.left;
        w.cMin = Math.max(0, cCorner);
        w.cMax = Math.min(W, cCorner + info.effectiveFilterWidth);
        w.out = ((w.b * Ho + yR) * Wo + yC) * C;
        visit(w);
      }
    }
  }
}

/**
 * Any geometry (overlapping windows accumulate): each window's gradient goes to the first
 * in-bounds position equal to its pooled value. `dx` must be zero-filled.
 */
function maxPoolBackprop(x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array, xShape: number[], attrs: PoolAttrs): void {
  const [, H, W, C] = xShape as [number, number, number, number];
  const gate = attrs.reluGate;
  forEachWindow(xShape, attrs, ({ b, rMin, rMax, cMin, cMax, out }) => {
    for (let d = 0; d < C; d++) {
      const max = y[out + d]!;
      if (gate && !(max > 0)) continue;
      window: for (let r = rMin; r < rMax; r++) {
        let p = ((b * H + r) * W + cMin) * C + d;
        for (let c = cMin; c < cMax; c++, p += C) {
          if (x[p] === max) {
            dx[p] = dx[p]! + dy[out + d]!;
            break window;
          }
        }
      }
    }
  });
}

/** Each window's gradient spread evenly over its in-bounds positions. `dx` must be zero-filled. */
function avgPoolBackprop(dy: Float32Array, dx: Float32Array, xShape: number[], attrs: PoolAttrs): void {
  const [, H, W, C] = xShape as [number, number, number, number];
  forEachWindow(xShape, attrs, ({ b, rMin, rMax, cMin, cMax, out }) => {
    const share = 1 / ((rMax - rMin) * (cMax - cMin));
    for (let r = rMin; r < rMax; r++) {
      for (let c = cMin; c < cMax; c++) {
        const base = ((b * H + r) * W + c) * C;
        for (let d = 0; d < C; d++) dx[base + d] = dx[base + d]! + dy[out + d]! * share;
      }
    }
  });
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  registerHostKernel(MAX_POOL_BACKPROP, (memory, { x, y, dy }, attrs) => {
    const pool = attrs as unknown as PoolAttrs;
    const shape = x!.shape;
    const fast = stride2x2(shape, pool);
    const exact = fast && shape[1]! % 2 === 0 && shape[2]! % 2 === 0;
    return memory.output(shape, 'float32', !exact, (dx) => {
      const [xs, ys, dys] = [memory.read(x!), memory.read(y!), memory.read(dy!)] as Float32Array[];
      if (fast) maxPoolBackprop2x2(xs!, ys!, dys!, dx as Float32Array, shape, pool.reluGate);
      else maxPoolBackprop(xs!, ys!, dys!, dx as Float32Array, shape, pool);
    });
  });
  registerHostKernel(AVG_POOL_BACKPROP, (memory, { x, dy }, attrs) =>
    memory.output(x!.shape, 'float32', true, (dx) => avgPoolBackprop(memory.read(dy!) as Float32Array, dx as Float32Array, x!.shape, attrs as unknown as PoolAttrs)),
  );
}

/** Whether the current backend runs the kernels of this module. */
export function hostPoolKernels(): boolean {
  return onHost('float32');
}

/**
 * dL/dx of max pooling, x: [N, H, W, C], y = maxPool(x) as computed by the forward pass; only on
 * backends where hostPoolKernels() holds.
 */
export function maxPoolBackpropHost(x: tf.Tensor, y: tf.Tensor, dy: tf.Tensor, attrs: PoolAttrs): tf.Tensor {
  register();
  return tf.engine().runKernel(MAX_POOL_BACKPROP, { x, y, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** dL/dx of average pooling (x: [N, H, W, C]); only on backends where hostPoolKernels() holds. */
export function avgPoolBackpropHost(x: tf.Tensor, dy: tf.Tensor, attrs: Omit<PoolAttrs, 'reluGate'>): tf.Tensor {
  register();
  return tf.engine().runKernel(AVG_POOL_BACKPROP, { x, dy }, { ...attrs, reluGate: false } as unknown as tf.NamedAttrMap) as tf.Tensor;
}
