/**
 * Reads a tfjs LayersModel into a BoundGraph, with the layer graph the gradient engine traces
 * (src/engine/tfjs/graph.ts). Each supported layer becomes an affine node, followed by an
 * activation node when it has one; a final softmax is left out (the margins are on the logits
 * before it, which order the classes the same way). Any other layer, activation or configuration
 * is an UNSUPPORTED_LAYER error naming it: a bound that ignored a layer would not be sound.
 */
import { RobustestError } from '../errors.js';
import { traceLayers, type LayerCall } from '../engine/tfjs/graph.js';
import { pair, variable, type LayerLike } from '../engine/tfjs/ops/op.js';
import type { BoundGraph, BoundNode } from './graph.js';
import { ClippedReluBound, LeakyReluBound, SShapedBound } from './ops/activation.js';
import type { BoundOp, Vec } from './ops/bound-op.js';
import { Conv2DBound, DepthwiseConv2DBound } from './ops/convolution.js';
import { DenseBound } from './ops/dense.js';
import { AddBound, ConcatenateBound } from './ops/merge.js';
import { BatchNormBound } from './ops/normalization.js';
import { AvgPoolBound, MaxPoolBound, type PoolConfig } from './ops/pooling.js';
import { ReshapeBound } from './ops/shape.js';

/** Identity at inference. */
const PASS_THROUGH = new Set(['InputLayer', 'Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

const SOFTMAX = 'softmax';

function unsupported(layer: LayerLike, why: string): RobustestError {
  return new RobustestError('UNSUPPORTED_LAYER', `Layer '${layer.name}' (${layer.getClassName()}) cannot be bounded: ${why}.`, {
    expected:
      'Dense, Conv2D, DepthwiseConv2D, BatchNormalization, MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, Flatten, Reshape, Add, Concatenate; activations relu, leaky relu, relu6, sigmoid, tanh (softmax last)',
    received: `${layer.getClassName()}${why ? ` (${why})` : ''}`,
  });
}

function weights(layer: LayerLike, key: string): Float32Array | null {
  const t = variable(layer, key);
  return t ? (t.dataSync() as Float32Array) : null;
}

function required(layer: LayerLike, key: string): { values: Float32Array; shape: number[] } {
  const t = variable(layer, key);
  if (!t) throw unsupported(layer, `it has no ${key} (is the model built?)`);
  return { values: t.dataSync() as Float32Array, shape: t.shape };
}

function bias(layer: LayerLike): Vec | null {
  const b = weights(layer, 'bias');
  return b ? Float64Array.from(b) : null;
}

function channelsLast(layer: LayerLike): boolean {
  return layer.dataFormat === undefined || layer.dataFormat === null || layer.dataFormat === 'channelsLast';
}

function padding(layer: LayerLike): 'same' | 'valid' {
  if (layer.padding !== 'same' && layer.padding !== 'valid' && layer.padding !== undefined) throw unsupported(layer, `padding ${String(layer.padding)}`);
  return layer.padding === 'same' ? 'same' : 'valid';
}

function poolConfig(layer: LayerLike): PoolConfig {
  return { filterSize: pair(layer.poolSize, 2), strides: pair(layer.strides ?? layer.poolSize, 2), pad: padding(layer) };
}

/** The name of an activation object or string, as tfjs-layers spells it. */
function activationName(activation: unknown): string {
  if (activation === undefined || activation === null) return 'linear';
  if (typeof activation === 'string') return activation;
  const a = activation as { getClassName?: () => string };
  return typeof a.getClassName === 'function' ? a.getClassName() : String(activation);
}

/** The node for an activation by name; null for linear. */
function activationOp(layer: LayerLike, name: string, shape: readonly number[]): BoundOp | typeof SOFTMAX | null {
  switch (name) {
    case 'linear':
      return null;
    case 'relu':
      return new LeakyReluBound(layer.name, shape, 0);
    case 'relu6':
      return new ClippedReluBound('relu6', layer.name, shape, 6);
    case 'sigmoid':
    case 'tanh':
      return new SShapedBound(name, layer.name, shape);
    case 'softmax':
      return SOFTMAX;
    default:
      throw unsupported(layer, `activation '${name}' has no linear relaxation here`);
  }
}

function perSample(shape: readonly (number | null)[], layer: LayerLike): number[] {
  const rest = shape.slice(1);
  if (!rest.every((d): d is number => typeof d === 'number' && d > 0)) throw unsupported(layer, `its input shape [${shape.join(', ')}] is not fully known`);
  return rest;
}

type Lowered = { ops: (BoundOp | typeof SOFTMAX)[] } | 'identity';

function lowerCall(call: LayerCall, inShapes: readonly (readonly number[])[]): Lowered {
  const layer = call.layer;
  const className = layer.getClassName();
  const inShape = inShapes[0]!;
  const rank = inShape.length + 1;
  const single = call.inputs.length === 1 && call.outputIndex === 0;
  if (!single && className !== 'Add' && className !== 'Concatenate') throw unsupported(layer, 'it has several inputs or outputs');
  const withActivation = (op: BoundOp): Lowered => {
    const act = activationOp(layer, activationName(layer.activation), op.outputShape);
    return { ops: act ? [op, act] : [op] };
  };
  switch (className) {
    case 'Dense': {
      if (rank !== 2) throw unsupported(layer, `Dense on a rank-${rank} input`);
      const k = required(layer, 'kernel');
      return withActivation(new DenseBound(layer.name, k.values, k.shape as [number, number], bias(layer)));
    }
    case 'Conv2D': {
      if (!channelsLast(layer) || rank !== 4) throw unsupported(layer, 'only channels-last 2-D convolutions');
      const k = required(layer, 'kernel');
      const op = new Conv2DBound(layer.name, inShape, k.values, k.shape as [number, number, number, number], bias(layer), pair(layer.strides, 1), pair(layer.dilationRate, 1), padding(layer));
      return withActivation(op);
    }
    case 'DepthwiseConv2D': {
      if (!channelsLast(layer) || rank !== 4) throw unsupported(layer, 'only channels-last 2-D convolutions');
      const k = required(layer, 'depthwiseKernel');
      const op = new DepthwiseConv2DBound(layer.name, inShape, k.values, k.shape as [number, number, number, number], bias(layer), pair(layer.strides, 1), padding(layer));
      return withActivation(op);
    }
    case 'BatchNormalization': {
      const axis = layer.axis;
      const last = axis === -1 || axis === rank - 1 || (Array.isArray(axis) && axis.length === 1 && (axis[0] === -1 || axis[0] === rank - 1));
      if (!last) throw unsupported(layer, `normalization over axis ${JSON.stringify(axis)} (only the last axis)`);
      const mean = required(layer, 'movingMean').values;
      const variance = required(layer, 'movingVariance').values;
      return { ops: [new BatchNormBound(layer.name, inShape, { mean, variance, gamma: weights(layer, 'gamma'), beta: weights(layer, 'beta'), epsilon: Number(layer.epsilon ?? 1e-3) })] };
    }
    case 'MaxPooling2D':
      if (!channelsLast(layer) || rank !== 4) throw unsupported(layer, 'only channels-last pooling');
      return { ops: [new MaxPoolBound(layer.name, inShape, poolConfig(layer))] };
    case 'AveragePooling2D':
      if (!channelsLast(layer) || rank !== 4) throw unsupported(layer, 'only channels-last pooling');
      return { ops: [new AvgPoolBound('AveragePooling2D', layer.name, inShape, poolConfig(layer))] };
    case 'GlobalAveragePooling2D':
      if (!channelsLast(layer) || rank !== 4) throw unsupported(layer, 'only channels-last pooling');
      return { ops: [new AvgPoolBound('GlobalAveragePooling2D', layer.name, inShape, 'global')] };
    case 'Flatten':
      if (!channelsLast(layer) && rank > 2) throw unsupported(layer, 'channels-first flattening');
      return { ops: [new ReshapeBound('Flatten', layer.name, [inShape.reduce((a, b) => a * b, 1)])] };
    case 'Reshape': {
      const target = layer.targetShape as number[];
      const total = inShape.reduce((a, b) => a * b, 1);
      const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
      return { ops: [new ReshapeBound('Reshape', layer.name, target.map((d) => (d === -1 ? total / known : d)))] };
    }
    case 'Activation': {
      const act = activationOp(layer, activationName(layer.activation), inShape);
      return act ? { ops: [act] } : 'identity';
    }
    case 'ReLU':
      if (layer.maxValue == null) return { ops: [new LeakyReluBound(layer.name, inShape, 0)] };
      return { ops: [new ClippedReluBound(`ReLU(maxValue ${Number(layer.maxValue)})`, layer.name, inShape, Number(layer.maxValue))] };
    case 'LeakyReLU':
      return { ops: [new LeakyReluBound(layer.name, inShape, Number(layer.alpha ?? 0.3))] };
    case 'Softmax':
      return { ops: [SOFTMAX] };
    case 'Add':
      if (!inShapes.every((s) => s.join() === inShape.join())) throw unsupported(layer, 'Add of inputs of different shapes');
      return { ops: [new AddBound(layer.name, inShape)] };
    case 'Concatenate': {
      const axis = Number(layer.axis ?? -1);
      const resolved = (axis < 0 ? rank + axis : axis) - 1;
      if (resolved < 0) throw unsupported(layer, 'concatenation along the batch axis');
      return { ops: [new ConcatenateBound(layer.name, inShapes, resolved)] };
    }
    default:
      if (PASS_THROUGH.has(className) && single) return 'identity';
      throw unsupported(layer, 'no bound propagation rule for this layer class');
  }
}

/** The BoundGraph of a single-input, single-output LayersModel. */
export function lowerLayersModel(model: unknown): BoundGraph {
  const graph = traceLayers(model);
  if (!graph) {
    throw new RobustestError('INVALID_MODEL', 'certify() needs a built tf.LayersModel with one input and one output.', {
      expected: 'a tf.LayersModel (Sequential or functional) with one input and one output',
      received: model === null || typeof model !== 'object' ? String(model) : (model as object).constructor?.name ?? 'object',
    });
  }
  const inputShape = (model as { inputs: { shape: (number | null)[] }[] }).inputs[0]!.shape;
  const shapes: number[][] = [];
  shapes[graph.input] = perSample(inputShape, { name: 'input', getClassName: () => 'InputLayer' } as unknown as LayerLike);
  const alias = new Map<number, number>();
  const resolve = (slot: number) => alias.get(slot) ?? slot;
  const nodes: BoundNode[] = [];
  const softmaxAt: { slot: number; layer: LayerLike }[] = [];
  let slots = graph.slots;
  for (const call of graph.calls) {
    const inputs = call.inputs.map(resolve);
    const lowered = lowerCall(call, inputs.map((s) => shapes[s]!));
    if (lowered === 'identity') {
      alias.set(call.output, inputs[0]!);
      continue;
    }
    let current = inputs;
    lowered.ops.forEach((op, i) => {
      const last = i === lowered.ops.length - 1;
      if (op === SOFTMAX) {
        // Kept as an alias; only allowed where it is the model's output.
        softmaxAt.push({ slot: last ? call.output : -1, layer: call.layer });
        if (last) alias.set(call.output, current[0]!);
        return;
      }
      const output = last ? call.output : slots++;
      shapes[output] = [...op.outputShape];
      nodes.push({ op, inputs: current, output });
      current = [output];
    });
  }
  const output = resolve(graph.output);
  for (const s of softmaxAt) {
    if (s.slot !== graph.output) throw unsupported(s.layer, 'softmax is only allowed as the last operation');
  }
  for (const n of nodes) for (const s of n.inputs) if (shapes[s] === undefined) throw new Error(`slot ${s} has no shape`);
  return { nodes, input: graph.input, output, shapes, peeledSoftmax: softmaxAt.length > 0 };
}
