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
import { registerHostKernel, type TensorInfoLike } from './host-memory.js';
import { wasmKernels } from './wasm/instance.js';

export const MAX_POOL_CONV_BACKPROP = 'RobustestMaxPoolConvBackprop';

interface Attrs {
  /** The convolution's input shape [N, H, W, Cin]. */
  inShape: number[];
  kernelHeight: number;
  kernelWidth: number;
  /** The pooled tensor is relu(conv): windows whose maximum is not positive pass nothing. */
  gate: boolean;
}

let registered = false;

// On wasm a view's byteOffset is the tensor's address in the heap the kernels share.
function register(): void {
  if (registered) return;
  registered = true;
  registerHostKernel(
    MAX_POOL_CONV_BACKPROP,
    (memory, { x, y, dy, w }, attrs) => {
      const { inShape, kernelHeight: kh, kernelWidth: kw, gate } = attrs as unknown as Attrs;
      const [n, h, width, cin] = inShape as [number, number, number, number];
      const [, hc, wc, c] = x!.shape as [number, number, number, number];
      const [, hp, wp] = y!.shape as [number, number, number, number];
      const at = (t: TensorInfoLike) => memory.read(t).byteOffset;
      return memory.output(inShape, 'float32', true, (dx) =>
        wasmKernels(tf.backend())!.maxPoolConvBackprop(
          at(x!), at(y!), at(dy!), at(w!), dx.byteOffset, dx.byteOffset + dx.byteLength,
          n, hp, wp, c, hc, wc, h, width, cin, kh, w!.shape[2]! / 4, kw * cin, gate ? 1 : 0,
        ),
      );
    },
    ['wasm'],
  );
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
