/**
 * 2-D convolutions and depthwise convolutions (channels-last). The input gradient is a forward
 * convolution of dy with the flipped kernel (conv-transpose.ts) where the backend runs that
 * fastest — wasm — or where tfjs's backprop kernels cannot (dilation > 1); elsewhere it is
 * tfjs's own backprop-input kernel, which those backends optimise.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ActivationSpec } from '../activations.js';
import {
  conv2dInputGradient,
  conv2dInputGradientSingleChannel,
  depthwiseInputGradient,
  flippedDepthwiseKernel,
  flippedTransposedKernel,
  type ConvGeometry,
} from '../conv-transpose.js';
import { maxPoolConvBackprop, scatterWeights } from '../pool-conv-backprop.js';
import { Prepared } from '../prepared.js';
import { activationGradient } from './fused.js';
import type { Op as GraphOp } from '../../../graph/types.js';
import { tfPadding, type TfPadding } from '../padding.js';
import type { Cotangent, InputGradient, Op } from './op.js';

type ConvSpec = Extract<GraphOp, { kind: 'conv2d' | 'depthwiseConv2d' }>;

function forwardRoute(dilations: readonly [number, number]): boolean {
  return tf.getBackend() === 'wasm' || dilations[0] > 1 || dilations[1] > 1;
}

function depthwiseBackpropInput(dy: tf.Tensor, kernel: tf.Tensor, inShape: readonly number[], strides: [number, number], pad: TfPadding): tf.Tensor {
  return tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: kernel }, {
    strides,
    pad,
    dilations: [1, 1],
    inputShape: inShape,
  } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** What both convolutions share: geometry, weights, the fused activation and its derivative. */
abstract class ConvolutionOp implements Op {
  readonly reluOutput: boolean;
  protected readonly strides: [number, number];
  protected readonly dilations: [number, number];
  protected readonly pad: TfPadding;

  constructor(
    protected readonly spec: ConvSpec,
    protected readonly activation: ActivationSpec,
  ) {
    this.reluOutput = activation.isRelu === true;
    this.strides = [spec.strides[0], spec.strides[1]];
    this.dilations = [spec.dilations[0], spec.dilations[1]];
    this.pad = tfPadding(spec.padding);
  }

  protected kernel(): tf.Tensor4D {
    return this.spec.filter.tensor() as tf.Tensor4D;
  }

  /** The arguments of tf.fused's convolution on `x`. */
  protected fusedArgs(x: tf.Tensor) {
    return {
      x: x as tf.Tensor4D,
      filter: this.kernel(),
      strides: this.strides,
      dataFormat: 'NHWC' as const,
      dilations: this.dilations,
      bias: this.spec.bias?.tensor(),
      activation: this.activation.fused ?? 'linear',
    };
  }

  /** dL/d(pre-activation) and the geometry of the forward convolution. */
  protected incoming(cot: Cotangent, x: tf.Tensor, y: tf.Tensor): { dz: tf.Tensor4D; kernel: tf.Tensor4D; g: ConvGeometry } {
    const kernel = this.kernel();
    const g: ConvGeometry = { inShape: x.shape, kernel: [kernel.shape[0], kernel.shape[1]], strides: this.strides, dilations: this.dilations, pad: this.pad };
    return { dz: activationGradient(this.activation, cot, y) as tf.Tensor4D, kernel, g };
  }

  abstract prepare(): void;
  abstract forward(inputs: readonly tf.Tensor[]): tf.Tensor;
  abstract backward(cot: Cotangent, inputs: readonly tf.Tensor[], output: tf.Tensor): (InputGradient | null)[];
  abstract dispose(): void;
}

export class Conv2DOp extends ConvolutionOp {
  /** A following 2×2 max pool may compute this layer's input gradient (pool-conv-backprop.ts). */
  readonly poolFusable: boolean;
  private readonly flipped: Prepared<[tf.Tensor4D, tf.Tensor4D]>;
  private readonly scatter: Prepared<[tf.Tensor3D]>;

  constructor(spec: ConvSpec, activation: ActivationSpec) {
    super(spec, activation);
    this.flipped = new Prepared(
      () => [this.kernel()],
      ([kernel]) => [flippedTransposedKernel(kernel as tf.Tensor4D), flippedDepthwiseKernel(kernel as tf.Tensor4D)],
    );
    const unit = (p: [number, number]) => p[0] === 1 && p[1] === 1;
    this.poolFusable = unit(this.strides) && unit(this.dilations) && this.pad === 'valid' && (activation.fused === 'linear' || this.reluOutput);
    this.scatter = new Prepared(
      () => [this.kernel()],
      ([kernel]) => [scatterWeights(kernel as tf.Tensor4D)],
    );
  }

  /** Builds the weights poolBackward scatters. */
  preparePoolBackward(): void {
    this.scatter.get();
  }

  /**
   * dL/dx from the gradient at the output of the 2×2 max pool reading this layer's output
   * `pooled` (only where poolFusable and poolConvKernelAvailable() hold).
   */
  poolBackward(pooled: tf.Tensor, pool: tf.Tensor, dPool: tf.Tensor, inShape: readonly number[]): tf.Tensor {
    const kernel = this.kernel();
    return maxPoolConvBackprop(pooled, pool, dPool, this.scatter.get()[0], inShape, [kernel.shape[0], kernel.shape[1]], this.reluOutput);
  }

  prepare(): void {
    if (forwardRoute(this.dilations)) this.flipped.get();
  }

  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    return tf.fused.conv2d({ ...this.fusedArgs(x!), pad: this.pad });
  }

  backward(cot: Cotangent, [x]: readonly tf.Tensor[], y: tf.Tensor): (InputGradient | null)[] {
    const { dz, kernel, g } = this.incoming(cot, x!, y);
    if (!forwardRoute(this.dilations)) {
      return [{ gradient: tf.conv2dTranspose(dz, kernel, x!.shape as [number, number, number, number], this.strides, this.pad) }];
    }
    const [flipped, flippedDepthwise] = this.flipped.get();
    const single = kernel.shape[2] === 1 && tf.getBackend() === 'wasm';
    return [{ gradient: single ? conv2dInputGradientSingleChannel(dz, flippedDepthwise, g) : conv2dInputGradient(dz, flipped, g) }];
  }

  dispose(): void {
    this.flipped.release();
    this.scatter.release();
  }
}

export class DepthwiseConv2DOp extends ConvolutionOp {
  private readonly flipped: Prepared<[tf.Tensor4D]>;

  constructor(spec: ConvSpec, activation: ActivationSpec) {
    super(spec, activation);
    this.flipped = new Prepared(
      () => [this.kernel()],
      ([kernel]) => [flippedDepthwiseKernel(kernel as tf.Tensor4D)],
    );
  }

  prepare(): void {
    if (forwardRoute(this.dilations)) this.flipped.get();
  }

  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    // Explicit pads never reach a depthwise op (ops/lower.ts pads first).
    return tf.fused.depthwiseConv2d({ ...this.fusedArgs(x!), pad: this.pad as 'valid' | 'same' });
  }

  backward(cot: Cotangent, [x]: readonly tf.Tensor[], y: tf.Tensor): (InputGradient | null)[] {
    const { dz, kernel, g } = this.incoming(cot, x!, y);
    if (!forwardRoute(this.dilations)) return [{ gradient: depthwiseBackpropInput(dz, kernel, x!.shape, this.strides, this.pad) }];
    return [{ gradient: depthwiseInputGradient(dz, this.flipped.get()[0], kernel.shape[3], g) }];
  }

  dispose(): void {
    this.flipped.release();
  }
}
