/**
 * MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D (channels-last).
 *
 * Max pooling routes each window's gradient to the first position holding its maximum, as tfjs
 * does (ties are common: MNIST backgrounds are exactly 0, so conv outputs there are exactly the
 * bias). When the pooled tensor is a relu output used only by this pool, the routing also skips
 * windows whose maximum is 0 and the relu node skips its mask: a window's maximum is positive
 * exactly where the relu derivative at the routed position is 1.
 */
import * as tf from '@tensorflow/tfjs-core';
import { depthwiseInputGradient, type ConvGeometry } from '../conv-transpose.js';
import { poolConvKernelAvailable } from '../pool-conv-backprop.js';
import { avgPoolBackpropHost, hostPoolKernels, maxPoolBackpropHost } from '../pool-kernels.js';
import type { Conv2DOp } from './convolution.js';
import { pair, plain, type Cotangent, type InputGradient, type LayerLike, type Op } from './op.js';

function poolConfig(layer: LayerLike) {
  const filterSize = pair(layer.poolSize, 2);
  const strides = pair(layer.strides ?? layer.poolSize, 2);
  const pad: 'valid' | 'same' = layer.padding === 'same' ? 'same' : 'valid';
  return { filterSize, strides, pad };
}

export class MaxPool2DOp implements Op {
  private readonly config: ReturnType<typeof poolConfig>;
  /** Set by the compiler when the input is a relu output consumed only here. */
  reluGate = false;
  /**
   * Set by the compiler when the input is the output of this Conv2D, consumed only here; the
   * node then also reads the convolution's input, and on backends that run the fused kernel
   * hands its gradient there directly (the convolution's own backward then has nothing to do).
   */
  feeder: Conv2DOp | null = null;

  constructor(layer: LayerLike) {
    this.config = poolConfig(layer);
  }

  /** 2×2 windows at stride 2 without padding, the geometry the fused kernel handles. */
  get halves(): boolean {
    const { filterSize, strides, pad } = this.config;
    return filterSize.every((f) => f === 2) && strides.every((s) => s === 2) && pad === 'valid';
  }

  prepare(): void {
    if (this.feeder && poolConvKernelAvailable()) this.feeder.preparePoolBackward();
  }

  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    const { filterSize, strides, pad } = this.config;
    return tf.maxPool(x as tf.Tensor4D, filterSize, strides, pad);
  }

  backward(cot: Cotangent, [x, convInput]: readonly tf.Tensor[], y: tf.Tensor): (InputGradient | null)[] {
    if (this.feeder && convInput && poolConvKernelAvailable()) return [null, plain(this.feeder.poolBackward(x!, y, cot.dy, convInput.shape))];
    if (hostPoolKernels()) {
      return [{ gradient: maxPoolBackpropHost(x!, y, cot.dy, { ...this.config, reluGate: this.reluGate }), reluMasked: this.reluGate }];
    }
    const { filterSize, strides, pad } = this.config;
    return [plain(tf.engine().runKernel('MaxPoolGrad', { dy: cot.dy, input: x!, output: y }, { filterSize, strides, pad } as unknown as tf.NamedAttrMap) as tf.Tensor)];
  }
}

export class AvgPool2DOp implements Op {
  private readonly config: ReturnType<typeof poolConfig>;

  constructor(layer: LayerLike) {
    this.config = poolConfig(layer);
  }

  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    const { filterSize, strides, pad } = this.config;
    return tf.avgPool(x as tf.Tensor4D, filterSize, strides, pad);
  }

  backward(cot: Cotangent, [x]: readonly tf.Tensor[]): (InputGradient | null)[] {
    if (hostPoolKernels()) return [plain(avgPoolBackpropHost(x!, cot.dy, this.config))];
    // Elsewhere: spread dy / (in-bounds pixels of its window) with a ones depthwise kernel.
    const { filterSize, strides, pad } = this.config;
    const [, , , channels] = x!.shape;
    const g: ConvGeometry = { inShape: x!.shape, kernel: filterSize, strides, dilations: [1, 1], pad };
    const counts = windowCounts(x!.shape, this.config);
    const ones = tf.ones([filterSize[0], filterSize[1], channels!, 1]) as tf.Tensor4D;
    return [plain(depthwiseInputGradient(tf.div(cot.dy, counts) as tf.Tensor4D, ones, 1, g))];
  }
}

/** [1, Ho, Wo, 1]: how many in-bounds input pixels each window averages (tfjs excludes padding). */
function windowCounts(xShape: readonly number[], config: ReturnType<typeof poolConfig>): tf.Tensor {
  const info = tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], config.filterSize, config.strides, 1, config.pad);
  const counts = new Float32Array(info.outHeight * info.outWidth);
  for (let r = 0; r < info.outHeight; r++) {
    const top = r * info.strideHeight - info.padInfo.top;
    const rows = Math.min(info.inHeight, top + info.filterHeight) - Math.max(0, top);
    for (let c = 0; c < info.outWidth; c++) {
      const left = c * info.strideWidth - info.padInfo.left;
      const cols = Math.min(info.inWidth, left + info.filterWidth) - Math.max(0, left);
      counts[r * info.outWidth + c] = rows * cols;
    }
  }
  return tf.tensor4d(counts, [1, info.outHeight, info.outWidth, 1]);
}

export class GlobalAvgPool2DOp implements Op {
  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    return tf.mean(x!, [1, 2]);
  }

  backward(cot: Cotangent, [x]: readonly tf.Tensor[]): (InputGradient | null)[] {
    const [n, h, w, c] = x!.shape as [number, number, number, number];
    return [plain(tf.div(tf.mul(tf.reshape(cot.dy, [n, 1, 1, c]), tf.ones([1, h, w, 1])), h * w))];
  }
}
