/**
 * tfjs-layers models (Sequential or functional, one input, one output) into the model graph.
 * Weights stay the model's live variables, so a model trained after import is seen as it is now.
 * A layer with an activation becomes two nodes (the linear part, then the activation). Layers and
 * activations without a rule here — custom layers, channels-first configurations — become opaque
 * nodes that only the tfjs executor can run (it differentiates them with tf.grad).
 */
import type * as tf from '@tensorflow/tfjs-core';
import { GraphBuilder } from '../builder.js';
import { resolveReshape } from '../shapes.js';
import type { Activation, ModelGraph, Op, Weight } from '../types.js';
import { pair, variable, type LayerLike } from './layer.js';
import { traceLayers, type LayerCall } from './trace.js';

/** Identity at inference. */
const PASS_THROUGH = new Set(['InputLayer', 'Dropout', 'SpatialDropout1D', 'GaussianNoise', 'GaussianDropout', 'AlphaDropout']);

const BINARY: Record<string, 'add' | 'sub' | 'mul' | 'max' | 'min'> = { Add: 'add', Subtract: 'sub', Multiply: 'mul', Maximum: 'max', Minimum: 'min' };

function live(layer: LayerLike, key: string): Weight | null {
  const t = variable(layer, key);
  if (!t) return null;
  const shape = [...t.shape];
  return { shape, tensor: () => variable(layer, key)! };
}

function required(layer: LayerLike, key: string): Weight {
  const w = live(layer, key);
  if (!w) throw new NotImported(`it has no ${key}`);
  return w;
}

/** A layer this importer leaves to the opaque path. */
class NotImported extends Error {}

function channelsLast(layer: LayerLike): boolean {
  return layer.dataFormat === undefined || layer.dataFormat === null || layer.dataFormat === 'channelsLast';
}

function padding(layer: LayerLike): 'same' | 'valid' {
  if (layer.padding === 'same') return 'same';
  if (layer.padding === 'valid' || layer.padding === undefined) return 'valid';
  throw new NotImported(`padding ${String(layer.padding)}`);
}

function lastAxis(axis: unknown, rank: number): boolean {
  return axis === -1 || axis === rank - 1 || (Array.isArray(axis) && axis.length === 1 && lastAxis(axis[0], rank));
}

/** The name tfjs-layers gives an activation object or string. */
function activationName(activation: unknown): string {
  if (activation === undefined || activation === null) return 'linear';
  if (typeof activation === 'string') return activation;
  const a = activation as { getClassName?: () => string };
  return typeof a.getClassName === 'function' ? a.getClassName() : String(activation);
}

/** The graph activation for a tfjs-layers one; null for linear, 'softmax' for softmax. */
function activationOf(activation: unknown): Activation | 'softmax' | null {
  const name = activationName(activation);
  switch (name) {
    case 'linear':
      return null;
    case 'relu':
      return { fn: 'relu' };
    case 'relu6':
      return { fn: 'clip', min: 0, max: 6 };
    case 'elu':
      return { fn: 'elu', alpha: 1 };
    case 'sigmoid':
      return { fn: 'sigmoid' };
    case 'tanh':
      return { fn: 'tanh' };
    case 'hardSigmoid':
      return { fn: 'hardSigmoid', alpha: 0.2, beta: 0.5 };
    case 'softplus':
      return { fn: 'softplus' };
    case 'swish':
      return { fn: 'swish' };
    case 'gelu':
      return { fn: 'gelu', approximate: false };
    case 'gelu_new':
      return { fn: 'gelu', approximate: true };
    case 'softmax':
      return 'softmax';
    default: {
      const fn = activation as { apply?: (x: tf.Tensor) => tf.Tensor };
      if (typeof fn?.apply !== 'function') throw new NotImported(`activation ${name}`);
      return { fn: 'opaque', name, apply: (x) => fn.apply!(x) };
    }
  }
}

interface Emitter {
  readonly builder: GraphBuilder;
  readonly source: string;
  (op: Op, inputs: readonly number[]): number;
}
type Emit = Emitter;

/** Adds the activation after `slot` (nothing for linear). */
function activate(emit: Emit, slot: number, activation: unknown): number {
  const a = activationOf(activation);
  if (a === null) return slot;
  return emit(a === 'softmax' ? { kind: 'softmax' } : { kind: 'activation', activation: a }, [slot]);
}

/** The nodes for one layer call, or the slot it aliases (identity layers). */
function importCall(call: LayerCall, emit: Emit, inputs: readonly number[], rank: number): number {
  const layer = call.layer;
  const className = layer.getClassName();
  const single = inputs.length === 1 && call.outputIndex === 0;
  const x = inputs[0]!;
  const image = () => {
    if (!channelsLast(layer) || rank !== 4) throw new NotImported('only channels-last images');
  };
  if (!single && !BINARY[className] && className !== 'Concatenate' && className !== 'Average') throw new NotImported('several inputs or outputs');
  switch (className) {
    case 'Dense':
      return activate(emit, emit({ kind: 'dense', kernel: required(layer, 'kernel'), bias: live(layer, 'bias') }, [x]), layer.activation);
    case 'Conv2D':
      image();
      return activate(
        emit,
        emit({ kind: 'conv2d', filter: required(layer, 'kernel'), bias: live(layer, 'bias'), strides: pair(layer.strides, 1), dilations: pair(layer.dilationRate, 1), padding: padding(layer) }, [x]),
        layer.activation,
      );
    case 'DepthwiseConv2D':
      image();
      // tfjs-layers' DepthwiseConv2D ignores dilationRate (it passes none to the op); so does the graph.
      return activate(
        emit,
        emit({ kind: 'depthwiseConv2d', filter: required(layer, 'depthwiseKernel'), bias: live(layer, 'bias'), strides: pair(layer.strides, 1), dilations: [1, 1], padding: padding(layer) }, [x]),
        layer.activation,
      );
    case 'SeparableConv2D': {
      image();
      const depthwise = emit(
        { kind: 'depthwiseConv2d', filter: required(layer, 'depthwiseKernel'), bias: null, strides: pair(layer.strides, 1), dilations: pair(layer.dilationRate, 1), padding: padding(layer) },
        [x],
      );
      const pointwise = emit({ kind: 'conv2d', filter: required(layer, 'pointwiseKernel'), bias: live(layer, 'bias'), strides: [1, 1], dilations: [1, 1], padding: 'valid' }, [depthwise]);
      return activate(emit, pointwise, layer.activation);
    }
    case 'MaxPooling2D':
    case 'AveragePooling2D': {
      image();
      const size = pair(layer.poolSize, 2);
      const strides = pair(layer.strides ?? layer.poolSize, 2);
      const pad = padding(layer);
      return emit(className === 'MaxPooling2D' ? { kind: 'maxPool', size, strides, padding: pad } : { kind: 'avgPool', size, strides, padding: pad, countPadding: false }, [x]);
    }
    case 'GlobalAveragePooling2D':
      image();
      return emit({ kind: 'mean', axes: [0, 1], keepDims: false }, [x]);
    case 'BatchNormalization':
      if (!lastAxis(layer.axis, rank)) throw new NotImported('normalization over an axis other than the last');
      return emit(
        { kind: 'batchNorm', mean: required(layer, 'movingMean'), variance: required(layer, 'movingVariance'), gamma: live(layer, 'gamma'), beta: live(layer, 'beta'), epsilon: Number(layer.epsilon ?? 1e-3) },
        [x],
      );
    case 'Flatten':
      if (!channelsLast(layer) && rank > 2) throw new NotImported('channels-first flattening');
      return emit({ kind: 'reshape', shape: resolveReshape(emit.source, [-1], emit.builder.shapeOf(x)) }, [x]);
    case 'Reshape':
      if (!Array.isArray(layer.targetShape)) throw new NotImported('no target shape');
      return emit({ kind: 'reshape', shape: resolveReshape(emit.source, layer.targetShape as number[], emit.builder.shapeOf(x)) }, [x]);
    case 'ZeroPadding2D': {
      image();
      const p = layer.padding as [[number, number], [number, number]];
      return emit({ kind: 'pad', pads: [[p[0][0], p[0][1]], [p[1][0], p[1][1]], [0, 0]], value: 0 }, [x]);
    }
    case 'Activation':
      return activate(emit, x, layer.activation);
    case 'ReLU':
      return emit({ kind: 'activation', activation: layer.maxValue == null ? { fn: 'relu' } : { fn: 'clip', min: 0, max: Number(layer.maxValue) } }, [x]);
    case 'LeakyReLU':
      return emit({ kind: 'activation', activation: { fn: 'leakyRelu', alpha: Number(layer.alpha ?? 0.3) } }, [x]);
    case 'ELU':
      return emit({ kind: 'activation', activation: { fn: 'elu', alpha: Number(layer.alpha ?? 1) } }, [x]);
    case 'Softmax':
      if (!lastAxis(layer.axis, rank)) throw new NotImported('softmax over an axis other than the last');
      return emit({ kind: 'softmax' }, [x]);
    case 'Concatenate': {
      const axis = Number(layer.axis ?? -1);
      const perSample = axis < 0 ? axis + rank - 1 : axis - 1;
      if (perSample < 0) throw new NotImported('concatenation along the batch axis');
      return emit({ kind: 'concat', axis: perSample }, inputs);
    }
    case 'Average': {
      let sum = inputs[0]!;
      for (const s of inputs.slice(1)) sum = emit({ kind: 'binary', fn: 'add' }, [sum, s]);
      const scale = emit({ kind: 'constant', value: emit.builder.weight(Float32Array.of(1 / inputs.length), [1]) }, []);
      return emit({ kind: 'binary', fn: 'mul' }, [sum, scale]);
    }
    default: {
      const fn = BINARY[className];
      if (fn && call.outputIndex === 0) {
        let acc = inputs[0]!;
        for (const s of inputs.slice(1)) acc = emit({ kind: 'binary', fn }, [acc, s]);
        return acc;
      }
      if (PASS_THROUGH.has(className) && single) return x;
      throw new NotImported('no rule for this layer class');
    }
  }
}

function perSample(shape: readonly (number | null)[]): number[] | null {
  const rest = shape.slice(1);
  return rest.every((d): d is number => typeof d === 'number' && d > 0) ? rest : null;
}

/** The graph of a LayersModel; null when it is not a single-input, single-output model with known shapes. */
export function importLayersModel(model: unknown): ModelGraph | null {
  let traced: ReturnType<typeof traceLayers>;
  try {
    traced = traceLayers(model);
  } catch {
    return null;
  }
  if (!traced) return null;
  const inputShape = perSample((model as { inputs: { shape: (number | null)[] }[] }).inputs[0]!.shape);
  if (!inputShape) return null;
  const builder = new GraphBuilder('tfjs-layers', inputShape);
  const slotOf = new Map<number, number>([[traced.input, builder.input]]);
  for (const call of traced.calls) {
    const inputs = call.inputs.map((s) => slotOf.get(s)!);
    const rank = builder.shapeOf(inputs[0]!).length + 1;
    const source = `${call.layer.name} (${call.layer.getClassName()})`;
    const emit = Object.assign((op: Op, from: readonly number[]) => builder.add(op, from, source), { builder, source });
    let out: number;
    try {
      out = importCall(call, emit, inputs, rank);
    } catch (error) {
      if (!(error instanceof NotImported)) throw error;
      const shape = perSample(call.outputShape);
      if (!shape) return null;
      out = builder.add(opaqueLayer(call, error.message), inputs, source, shape);
    }
    slotOf.set(call.output, out);
  }
  return builder.build(slotOf.get(traced.output)!);
}

function opaqueLayer(call: LayerCall, why: string): Op {
  const { layer, callArgs, outputIndex } = call;
  return {
    kind: 'opaque',
    name: `${layer.getClassName()}${why === 'no rule for this layer class' ? '' : ` (${why})`}`,
    apply: (inputs) => {
      const out = layer.apply(inputs.length === 1 ? inputs[0]! : [...inputs], { ...callArgs, training: false });
      if (!Array.isArray(out)) return out;
      out.forEach((t, i) => {
        if (i !== outputIndex) t.dispose();
      });
      return out[outputIndex]!;
    },
  };
}
