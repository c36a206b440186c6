/**
 * The input gradient of Conv2D → [relu] → MaxPool 2×2/2 as one wasm kernel (maxPoolConvBackprop
 * in wasm/kernels.wat), for convolutions with stride 1, no dilation and 'valid' padding.
 *
 * Pool routing leaves three of every four conv-output pixels without gradient; scattering the
 * routed values straight into the input gradient does a quarter of the arithmetic of the
 * transposed convolution and skips materialising the routed tensor. On a small first layer (one
 * input channel, where XNNPACK pads the transposed convolution's output channels to eight) this
 * is several times faster than routing, then convolving.
 */
import * as tf from '@tensorflow/tfjs-core';
import { heapOffset, wasmKernels } from './wasm/instance.js';

export const MAX_POOL_CONV_BACKPROP = 'RobustestMaxPoolConvBackprop';

interface Attrs {
  /** The convolution's input shape [N, H, W, Cin]. */
  inShape: number[];
  kernelHeight: number;
  kernelWidth: number;
  /** The pooled tensor is relu(conv): windows whose maximum is not positive pass nothing. */
  gate: boolean;
}

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): { dataId: object; shape: number[]; dtype: tf.DataType };
  typedArrayFromHeap(t: { dataId: object; shape: number[]; dtype: tf.DataType }): Float32Array;
}

let registered = false;

function register(): void {
  if (registered || tf.getKernel(MAX_POOL_CONV_BACKPROP, 'wasm')) {
    registered = true;
    return;
  }
  registered = true;
  tf.registerKernel({
    kernelName: MAX_POOL_CONV_BACKPROP,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, y, dy, w } = inputs as Record<string, tf.TensorInfo>;
      const { inShape, kernelHeight: kh, gate } = attrs as unknown as Attrs;
      const wasm = backend as unknown as WasmBackendLike;
      const [n, h, width, cin] = inShape as [number, number, number, number];
      const [, hc, wc, c] = x!.shape as [number, number, number, number];
      const [, hp, wp] = y!.shape as [number, number, number, number];
      const vectors = w!.shape[2]! / 4;
      const out = wasm.makeOutput(inShape, 'float32');
      wasm.typedArrayFromHeap(out).fill(0);
      const dx = heapOffset(backend, out.dataId);
      const at = (t: tf.TensorInfo) => heapOffset(backend, t.dataId);
      wasmKernels(backend)!.maxPoolConvBackprop(
        at(x!), at(y!), at(dy!), at(w!), dx, dx + n * h * width * cin * 4,
        n, hp, wp, c, hc, wc, h, width, cin, kh, vectors, (attrs as unknown as Attrs).kernelWidth * cin, gate ? 1 : 0,
      );
      return out as unknown as tf.TensorInfo;
    },
  });
}

/** Whether the current backend runs the fused kernel. */
export function poolConvKernelAvailable(): boolean {
  return tf.getBackend() === 'wasm' && wasmKernels(tf.backend()) !== null;
}

/** Kernel [kh, kw, Cin, C] → [C, kh, ⌈kw·Cin / 4⌉·4]: per output channel, each row's span. */
export function scatterWeights(kernel: tf.Tensor4D): tf.Tensor3D {
  const [kh, kw, cin, c] = kernel.shape;
  const span = kw * cin;
  return tf.tidy(() => {
    const rows = tf.reshape(tf.transpose(kernel, [3, 0, 1, 2]), [c, kh, span]);
    return tf.pad(rows, [[0, 0], [0, 0], [0, Math.ceil(span / 4) * 4 - span]]) as tf.Tensor3D;
  });
}

/**
 * dL/d(conv input) from dL/d(pool output). x: the pooled tensor [N, Hc, Wc, C] (conv output after
 * its activation), y: the pool output, weights: scatterWeights(kernel).
 */
export function maxPoolConvBackprop(
  x: tf.Tensor,
  y: tf.Tensor,
  dy: tf.Tensor,
  weights: tf.Tensor3D,
  inShape: readonly number[],
  kernelSize: readonly [number, number],
  gate: boolean,
): tf.Tensor4D {
  register();
  const attrs: Attrs = { inShape: [...inShape], kernelHeight: kernelSize[0], kernelWidth: kernelSize[1], gate };
  return tf.engine().runKernel(MAX_POOL_CONV_BACKPROP, { x, y, dy, w: weights }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}
