/**
 * The input gradient of a 2-D convolution written as a forward convolution, the operation
 * backends optimise best (on wasm, XNNPACK runs a forward convolution several times faster than
 * tfjs's Conv2DBackpropInput, and has no depthwise backprop kernel at all).
 *
 * For y[o] = Σ_k x[o·s + k·d − p] · w[k] (one spatial axis), the gradient is
 *   dx[i] = Σ_k dy↑[i + p − k·d] · w[k],
 * where dy↑ is dy with s − 1 zeros inserted between neighbours. Substituting k → K − 1 − k
 * makes it a stride-1 correlation of dy↑ with the flipped kernel, dilated by d, over dy↑ padded
 * by (K − 1)·d − p before and H − 1 − (Ho − 1)·s + p after: a 'full' convolution for 'valid'
 * layers, trimmed by the forward padding for 'same' ones.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { TfPadding } from './padding.js';

export interface ConvGeometry {
  /** Forward input shape [N, H, W, C]. */
  inShape: readonly number[];
  kernel: readonly [number, number];
  strides: readonly [number, number];
  dilations: readonly [number, number];
  pad: TfPadding;
}

type Pads = [[number, number], [number, number], [number, number], [number, number]];

/** Explicit padding of forward conv `g` (tfjs's own arithmetic, so 'same' splits as tfjs does). */
function forwardPadding(g: ConvGeometry, outChannels: number) {
  const info = tf.backend_util.computeConv2DInfo(
    g.inShape as [number, number, number, number],
    [g.kernel[0], g.kernel[1], g.inShape[3]!, outChannels],
    g.strides as [number, number],
    g.dilations as [number, number],
    g.pad,
  );
  return { top: info.padInfo.top, left: info.padInfo.left, outHeight: info.outHeight, outWidth: info.outWidth };
}

/**
 * dy [N, Ho, Wo, C] → (dy↑ cropped where the padding would be negative, explicit padding), such
 * that a stride-1 'explicit' convolution with the flipped, dilated kernel yields [N, H, W, ·].
 */
export function transposedInput(dy: tf.Tensor4D, g: ConvGeometry): { input: tf.Tensor4D; pads: Pads } {
  const [sh, sw] = g.strides;
  const [kh, kw] = g.kernel;
  const [dh, dw] = g.dilations;
  const H = g.inShape[1]!;
  const W = g.inShape[2]!;
  const { top, left, outHeight: Ho, outWidth: Wo } = forwardPadding(g, dy.shape[3]);
  let input = dy;
  // Zero insertion by padding a [.., Ho, 1, Wo, 1, ..] view to [.., Ho, s, Wo, s, ..]: one pass,
  // leaving s − 1 trailing zeros on each axis that the 'after' padding below accounts for.
  const extraH = sh - 1;
  const extraW = sw - 1;
  if (sh > 1 || sw > 1) {
    const [n, , , c] = dy.shape;
    const spread = tf.pad(tf.reshape(dy, [n, Ho, 1, Wo, 1, c]), [
      [0, 0],
      [0, 0],
      [0, extraH],
      [0, 0],
      [0, extraW],
      [0, 0],
    ]);
    input = tf.reshape(spread, [n, Ho * sh, Wo * sw, c]);
  }
  let before = [(kh - 1) * dh - top, (kw - 1) * dw - left];
  let after = [H - 1 - (Ho - 1) * sh + top - extraH, W - 1 - (Wo - 1) * sw + left - extraW];
  if (before.some((p) => p < 0) || after.some((p) => p < 0)) {
    const [n, h, w, c] = input.shape;
    const cropBefore = before.map((p) => Math.max(0, -p));
    const cropAfter = after.map((p) => Math.max(0, -p));
    input = tf.slice(input, [0, cropBefore[0]!, cropBefore[1]!, 0], [n, h - cropBefore[0]! - cropAfter[0]!, w - cropBefore[1]! - cropAfter[1]!, c]);
    before = before.map((p) => Math.max(0, p));
    after = after.map((p) => Math.max(0, p));
  }
  return {
    input,
    pads: [
      [0, 0],
      [before[0]!, after[0]!],
      [before[1]!, after[1]!],
      [0, 0],
    ],
  };
}

/** Kernel [kh, kw, Cin, Cout] → flipped spatially and transposed to [kh, kw, Cout, Cin]. */
export function flippedTransposedKernel(kernel: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2]));
}

/** Depthwise kernel [kh, kw, C, M] → flipped, as a multiplier-1 kernel over C·M channels. */
export function flippedDepthwiseKernel(kernel: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, c, m] = kernel.shape;
  return tf.tidy(() => tf.reshape(tf.reverse(kernel, [0, 1]), [kh, kw, c * m, 1]));
}

/** dL/dx of a Conv2D as a forward convolution; `flipped` from flippedTransposedKernel. */
export function conv2dInputGradient(dy: tf.Tensor4D, flipped: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const { input, pads } = transposedInput(dy, g);
    return tf.conv2d(input, flipped, 1, pads, 'NHWC', g.dilations as [number, number]);
  });
}

/**
 * The same for a layer with a single input channel: a depthwise convolution over dy's channels
 * followed by a channel sum. XNNPACK pads a convolution's output channels to its vector width,
 * so a one-channel output costs as much as eight; the depthwise form does not.
 */
export function conv2dInputGradientSingleChannel(dy: tf.Tensor4D, flippedDepthwise: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const { input, pads } = transposedInput(dy, g);
    const perChannel = tf.depthwiseConv2d(input, flippedDepthwise, 1, pads, 'NHWC', g.dilations as [number, number]);
    return tf.sum(perChannel, 3, true);
  });
}

/**
 * dL/dx of a depthwise convolution with channel multiplier m (output channel c·m + j), as a
 * forward depthwise convolution; `flipped` from flippedDepthwiseKernel.
 */
export function depthwiseInputGradient(dy: tf.Tensor4D, flipped: tf.Tensor4D, multiplier: number, g: ConvGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const { input, pads } = transposedInput(dy, g);
    const perOutput = tf.depthwiseConv2d(input, flipped, 1, pads, 'NHWC', g.dilations as [number, number]);
    if (multiplier === 1) return perOutput;
    const [n, h, w, cm] = perOutput.shape;
    return tf.sum(tf.reshape(perOutput, [n, h, w, cm / multiplier, multiplier]), 4);
  });
}
