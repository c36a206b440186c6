/**
 * Max and average pooling (channels-last) and means over axes (global average pooling).
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
import type { Padding } from '../../../graph/types.js';
import { tfPadding, type TfPadding } from '../padding.js';
import { plain, type Cotangent, type InputGradient, type Op } from './op.js';

interface PoolSpec {
  readonly size: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly padding: Padding;
}

interface PoolConfig {
  filterSize: [number, number];
  strides: [number, number];
  pad: TfPadding;
}

function poolConfig(spec: PoolSpec): PoolConfig {
  return { filterSize: [spec.size[0], spec.size[1]], strides: [spec.strides[0], spec.strides[1]], pad: tfPadding(spec.padding) };
}

export class MaxPool2DOp implements Op {
  private readonly config: PoolConfig;
  /** Set by the compiler when the input is a relu output consumed only here. */
  reluGate = false;
  /**
   * Set by the compiler when the input is the output of this Conv2D, consumed only here; the
   * node then also reads the convolution's input, and on backends that run the fused kernel
   * hands its gradient there directly (the convolution's own backward then has nothing to do).
   */
  feeder: Conv2DOp | null = null;

  constructor(spec: PoolSpec) {
    this.config = poolConfig(spec);
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
  private readonly config: PoolConfig;

  constructor(spec: PoolSpec) {
    this.config = poolConfig(spec);
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
function windowCounts(xShape: readonly number[], config: PoolConfig): tf.Tensor {
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

/** Mean over per-sample axes; the gradient spreads dy evenly over what each mean read. */
export class MeanOp implements Op {
  private readonly axes: number[];

  constructor(
    axes: readonly number[],
    private readonly keepDims: boolean,
  ) {
    this.axes = axes.map((a) => a + 1);
  }

  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    return tf.mean(x!, this.axes, this.keepDims);
  }

  backward(cot: Cotangent, [x]: readonly tf.Tensor[]): (InputGradient | null)[] {
    const kept = x!.shape.map((d, i) => (this.axes.includes(i) ? 1 : d));
    const count = this.axes.reduce((n, a) => n * x!.shape[a]!, 1);
    return [plain(tf.div(tf.broadcastTo(tf.reshape(cot.dy, kept), x!.shape), count))];
  }
}
