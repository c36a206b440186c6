/**
 * Which engine op runs each graph node. Convolutions and dense nodes whose only reader is a relu,
 * relu6 or elu take it as a fused activation (tfjs fuses those, and the backward reads the output
 * alone). Explicit pads that equal 'same' or 'valid' become those; average pooling that counts
 * padded zeros runs as a pad then an unpadded pool.
 */
import { explicitPads } from '../../../graph/shapes.js';
import type { Node, Op as GraphOp, Padding } from '../../../graph/types.js';
import { activationSpecOf, ELU, LINEAR, RELU, RELU6, SOFTMAX, type ActivationSpec } from '../activations.js';
import { ActivationOp } from './activation.js';
import { Conv2DOp, DepthwiseConv2DOp } from './convolution.js';
import { DenseOp } from './dense.js';
import { FallbackOp } from './fallback.js';
import { BinaryOp, ConcatOp, ConstantOp } from './merge.js';
import { BatchNormOp } from './normalization.js';
import type { Op } from './op.js';
import { AvgPool2DOp, MaxPool2DOp, MeanOp } from './pooling.js';
import { PadOp, ReshapeOp, SliceOp, TransposeOp } from './shape.js';

/** The fused spec of an activation node tfjs can fuse into the op before it, if it is one. */
export function fusable(op: GraphOp): ActivationSpec | null {
  if (op.kind !== 'activation') return null;
  if (op.activation.fn === 'relu') return RELU;
  if (op.activation.fn === 'elu' && op.activation.alpha === 1) return ELU;
  if (op.activation.fn === 'clip' && op.activation.min === 0 && op.activation.max === 6) return RELU6;
  return null;
}

/** Explicit pads as 'valid' or 'same' where they are those, so the fastest kernels apply. */
function simplest(padding: Padding, inShape: readonly number[], size: readonly [number, number], strides: readonly [number, number], dilations: readonly [number, number]): Padding {
  if (typeof padding === 'string') return padding;
  if (padding.every((p) => p === 0)) return 'valid';
  const same = explicitPads('same', [inShape[0]!, inShape[1]!], size, strides, dilations);
  return same.every((p, i) => p === padding[i]) ? 'same' : padding;
}

/** Engine ops for one node, in order (each reads the previous one's output). */
export function lowerNode(node: Node, inShape: readonly number[], varying: (slot: number) => boolean, fused: ActivationSpec = LINEAR): Op[] {
  const op = node.op;
  switch (op.kind) {
    case 'constant':
      return [new ConstantOp(op.value)];
    case 'conv2d': {
      const padding = simplest(op.padding, inShape, [op.filter.shape[0]!, op.filter.shape[1]!], op.strides, op.dilations);
      return [new Conv2DOp({ ...op, padding }, fused)];
    }
    case 'depthwiseConv2d': {
      // tfjs's fused depthwise convolution takes no explicit pads: those run as a pad first.
      const padding = simplest(op.padding, inShape, [op.filter.shape[0]!, op.filter.shape[1]!], op.strides, op.dilations);
      if (typeof padding === 'string') return [new DepthwiseConv2DOp({ ...op, padding }, fused)];
      const [top, bottom, left, right] = padding;
      return [new PadOp([[top, bottom], [left, right], [0, 0]], 0), new DepthwiseConv2DOp({ ...op, padding: 'valid' }, fused)];
    }
    case 'dense':
      return [new DenseOp(op, fused)];
    case 'batchNorm':
      return [new BatchNormOp(op)];
    case 'activation':
      return [new ActivationOp(activationSpecOf(op.activation))];
    case 'softmax':
      return [new ActivationOp(SOFTMAX)];
    case 'maxPool':
      return [new MaxPool2DOp({ ...op, padding: simplest(op.padding, inShape, op.size, op.strides, [1, 1]) })];
    case 'avgPool': {
      // 'same' never counts padded zeros, so pads that do count stay explicit.
      const padding = op.countPadding && typeof op.padding !== 'string' && op.padding.some((p) => p !== 0) ? op.padding : simplest(op.padding, inShape, op.size, op.strides, [1, 1]);
      if (typeof padding === 'string' || !op.countPadding) return [new AvgPool2DOp({ ...op, padding })];
      const [top, bottom, left, right] = padding;
      return [new PadOp([[top, bottom], [left, right], [0, 0]], 0), new AvgPool2DOp({ ...op, padding: 'valid' })];
    }
    case 'mean':
      return [new MeanOp(op.axes, op.keepDims)];
    case 'binary':
      return [new BinaryOp(op.fn, [varying(node.inputs[0]!), varying(node.inputs[1]!)])];
    case 'concat':
      return [new ConcatOp(op.axis)];
    case 'pad':
      return [new PadOp(op.pads, op.value)];
    case 'reshape':
      return [new ReshapeOp(op.shape)];
    case 'transpose':
      return [new TransposeOp(op.perm)];
    case 'slice':
      return [new SliceOp(op.begin, op.size)];
    case 'opaque':
      return [new FallbackOp(op)];
  }
}
