/**
 * Which nodes each tfjs-layers layer call becomes. A layer with an activation tfjs does not fuse
 * becomes two nodes (the linear part, then the activation), so every node's backward sees the
 * values it needs. Anything unrecognised — a class, or a configuration such as channels-first —
 * becomes a FallbackOp.
 */
import { activationSpec, clippedRelu, ELU, leakyRelu, LINEAR, RELU, SOFTMAX, type ActivationSpec } from '../activations.js';
import type { LayerCall } from '../graph.js';
import { ActivationOp } from './activation.js';
import { Conv2DOp, DepthwiseConv2DOp, SeparableConv2DOp } from './convolution.js';
import { DenseOp } from './dense.js';
import { FallbackOp } from './fallback.js';
import { AddOp, ConcatenateOp } from './merge.js';
import { BatchNormOp } from './normalization.js';
import type { LayerLike, Op } from './op.js';
import { AvgPool2DOp, GlobalAvgPool2DOp, MaxPool2DOp } from './pooling.js';
import { ReshapeOp, ZeroPadding2DOp } from './shape.js';

export type Lowered = { readonly identity: true } | { readonly identity: false; readonly ops: Op[] };

const IDENTITY: Lowered = { identity: true };

/** Identity at inference. */
const PASS_THROUGH = new Set(['InputLayer', 'Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

function chain(...ops: Op[]): Lowered {
  return { identity: false, ops };
}

function activationNode(spec: ActivationSpec): Lowered {
  return spec === LINEAR ? IDENTITY : chain(new ActivationOp(spec));
}

/** The linear part with a fused activation, or linear part + activation node. */
function withActivation(layer: LayerLike, make: (activation: ActivationSpec) => Op): Lowered {
  const spec = activationSpec(layer.activation as Parameters<typeof activationSpec>[0]);
  if (spec.fused) return chain(make(spec));
  return chain(make(LINEAR), new ActivationOp(spec));
}

function channelsLast(layer: LayerLike): boolean {
  return layer.dataFormat === undefined || layer.dataFormat === null || layer.dataFormat === 'channelsLast';
}

function sameShapes(shapes: (number | null)[][]): boolean {
  return shapes.every((s) => s.length === shapes[0]!.length && s.every((d, i) => d === shapes[0]![i]));
}

function lastAxis(axis: unknown, rank: number): boolean {
  return axis === -1 || axis === rank - 1 || (Array.isArray(axis) && axis.length === 1 && lastAxis(axis[0], rank));
}

function known(call: LayerCall): Lowered | null {
  const layer = call.layer;
  const rank = call.inputShapes[0]?.length ?? 0;
  const one = call.inputs.length === 1 && call.outputIndex === 0;
  const className = layer.getClassName();
  if (!one && className !== 'Add' && className !== 'Concatenate') return null;
  switch (className) {
    case 'Dense':
      return withActivation(layer, (a) => new DenseOp(layer, a));
    case 'Conv2D':
      return channelsLast(layer) && rank === 4 ? withActivation(layer, (a) => new Conv2DOp(layer, a)) : null;
    case 'DepthwiseConv2D':
      return channelsLast(layer) && rank === 4 ? withActivation(layer, (a) => new DepthwiseConv2DOp(layer, a)) : null;
    case 'SeparableConv2D':
      return channelsLast(layer) && rank === 4 ? withActivation(layer, (a) => new SeparableConv2DOp(layer, a)) : null;
    case 'MaxPooling2D':
      return channelsLast(layer) && rank === 4 ? chain(new MaxPool2DOp(layer)) : null;
    case 'AveragePooling2D':
      return channelsLast(layer) && rank === 4 ? chain(new AvgPool2DOp(layer)) : null;
    case 'GlobalAveragePooling2D':
      return channelsLast(layer) && rank === 4 ? chain(new GlobalAvgPool2DOp()) : null;
    case 'BatchNormalization':
      return lastAxis(layer.axis, rank) ? chain(new BatchNormOp(layer)) : null;
    case 'Flatten':
      return channelsLast(layer) || rank <= 2 ? chain(new ReshapeOp([-1])) : null;
    case 'Reshape':
      return Array.isArray(layer.targetShape) ? chain(new ReshapeOp(layer.targetShape as number[])) : null;
    case 'ZeroPadding2D':
      return channelsLast(layer) && rank === 4 ? chain(new ZeroPadding2DOp(layer)) : null;
    case 'Activation':
      return activationNode(activationSpec(layer.activation as Parameters<typeof activationSpec>[0]));
    case 'ReLU':
      return activationNode(layer.maxValue == null ? RELU : clippedRelu(Number(layer.maxValue)));
    case 'LeakyReLU':
      return activationNode(leakyRelu(Number(layer.alpha ?? 0.3)));
    case 'ELU':
      return Number(layer.alpha ?? 1) === 1 ? activationNode(ELU) : null;
    case 'Softmax':
      return lastAxis(layer.axis, rank) ? activationNode(SOFTMAX) : null;
    case 'Add':
      return call.outputIndex === 0 && sameShapes(call.inputShapes) ? chain(new AddOp()) : null;
    case 'Concatenate': {
      const axis = Number(layer.axis ?? -1);
      return call.outputIndex === 0 && axis !== 0 && axis !== -rank ? chain(new ConcatenateOp(axis)) : null;
    }
    default:
      return PASS_THROUGH.has(className) && one ? IDENTITY : null;
  }
}

export function lower(call: LayerCall): Lowered {
  return known(call) ?? chain(new FallbackOp(call.layer, call.callArgs, call.outputIndex));
}
