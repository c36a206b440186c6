/**
 * Interval bound propagation as tfjs operations, differentiable in the model's weights: the
 * bound certified training minimises (IBP, Gowal et al. 2018; the IBP half of CROWN-IBP). It
 * mirrors the float64 IBP of propagation.ts, layer for layer, in float32 on the backend: affine
 * layers carry the centre and the radius of the box (radius through |W|), monotone layers carry
 * both ends. The margin bounds fold the specification into the last Dense layer.
 *
 * Synchronous and tape-friendly: call it inside tf.tidy or tf.variableGrads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { traceLayers } from '../engine/tfjs/graph.js';
import { pair, variable, type LayerLike } from '../engine/tfjs/ops/op.js';
import { lowerLayersModel } from './lowering.js';

interface Box {
  lower: tf.Tensor;
  upper: tf.Tensor;
}

const mid = (b: Box) => tf.div(tf.add(b.lower, b.upper), 2);
const radius = (b: Box) => tf.div(tf.sub(b.upper, b.lower), 2);
const fromMid = (m: tf.Tensor, r: tf.Tensor): Box => ({ lower: tf.sub(m, r), upper: tf.add(m, r) });

function activationName(activation: unknown): string {
  if (activation === undefined || activation === null) return 'linear';
  if (typeof activation === 'string') return activation;
  const a = activation as { getClassName?: () => string };
  return typeof a.getClassName === 'function' ? a.getClassName() : String(activation);
}

function monotone(name: string, b: Box, layer: LayerLike): Box {
  const f = (x: tf.Tensor): tf.Tensor => {
    switch (name) {
      case 'linear':
      case 'softmax':
        return x;
      case 'relu':
        return tf.relu(x);
      case 'relu6':
        return tf.minimum(6, tf.relu(x));
      case 'sigmoid':
        return tf.sigmoid(x);
      case 'tanh':
        return tf.tanh(x);
      case 'leaky':
        return tf.leakyRelu(x, Number(layer.alpha ?? 0.3));
      case 'clipped':
        return tf.clipByValue(x, 0, Number(layer.maxValue));
      default:
        throw new Error(`no interval rule for ${name}`);
    }
  };
  return { lower: f(b.lower), upper: f(b.upper) };
}

function pad(layer: LayerLike): 'same' | 'valid' {
  return layer.padding === 'same' ? 'same' : 'valid';
}

/** One layer call on boxes; the last Dense is left to the caller when `foldLast`. */
function layerInterval(layer: LayerLike, inputs: Box[]): Box {
  const b = inputs[0]!;
  const className = layer.getClassName();
  const act = (box: Box) => monotone(activationName(layer.activation), box, layer);
  const bias = variable(layer, 'bias');
  const withBias = (m: tf.Tensor) => (bias ? tf.add(m, bias) : m);
  switch (className) {
    case 'Dense': {
      const w = variable(layer, 'kernel') as tf.Tensor2D;
      return act(fromMid(withBias(tf.matMul(mid(b) as tf.Tensor2D, w)), tf.matMul(radius(b) as tf.Tensor2D, tf.abs(w))));
    }
    case 'Conv2D': {
      const w = variable(layer, 'kernel') as tf.Tensor4D;
      const conv = (x: tf.Tensor, k: tf.Tensor4D) => tf.conv2d(x as tf.Tensor4D, k, pair(layer.strides, 1), pad(layer), 'NHWC', pair(layer.dilationRate, 1));
      return act(fromMid(withBias(conv(mid(b), w)), conv(radius(b), tf.abs(w))));
    }
    case 'DepthwiseConv2D': {
      const w = variable(layer, 'depthwiseKernel') as tf.Tensor4D;
      const conv = (x: tf.Tensor, k: tf.Tensor4D) => tf.depthwiseConv2d(x as tf.Tensor4D, k, pair(layer.strides, 1), pad(layer));
      return act(fromMid(withBias(conv(mid(b), w)), conv(radius(b), tf.abs(w))));
    }
    case 'BatchNormalization': {
      const gamma = variable(layer, 'gamma');
      const beta = variable(layer, 'beta');
      const inv = tf.rsqrt(tf.add(variable(layer, 'movingVariance')!, Number(layer.epsilon ?? 1e-3)));
      const scale = gamma ? tf.mul(inv, gamma) : inv;
      const m = tf.mul(tf.sub(mid(b), variable(layer, 'movingMean')!), scale);
      return fromMid(beta ? tf.add(m, beta) : m, tf.mul(radius(b), tf.abs(scale)));
    }
    case 'MaxPooling2D': {
      const size = pair(layer.poolSize, 2);
      const strides = pair(layer.strides ?? layer.poolSize, 2);
      const p = (x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, size, strides, pad(layer));
      return { lower: p(b.lower), upper: p(b.upper) };
    }
    case 'AveragePooling2D': {
      const size = pair(layer.poolSize, 2);
      const strides = pair(layer.strides ?? layer.poolSize, 2);
      const p = (x: tf.Tensor) => tf.avgPool(x as tf.Tensor4D, size, strides, pad(layer));
      return { lower: p(b.lower), upper: p(b.upper) };
    }
    case 'GlobalAveragePooling2D':
      return { lower: tf.mean(b.lower, [1, 2]), upper: tf.mean(b.upper, [1, 2]) };
    case 'Flatten':
      return { lower: tf.reshape(b.lower, [b.lower.shape[0]!, -1]), upper: tf.reshape(b.upper, [b.upper.shape[0]!, -1]) };
    case 'Reshape': {
      const target = [b.lower.shape[0]!, ...(layer.targetShape as number[])];
      return { lower: tf.reshape(b.lower, target), upper: tf.reshape(b.upper, target) };
    }
    case 'Activation':
      return act(b);
    case 'ReLU':
      return monotone(layer.maxValue == null ? 'relu' : 'clipped', b, layer);
    case 'LeakyReLU':
      return monotone('leaky', b, layer);
    case 'Softmax':
      return b;
    case 'Add':
      return { lower: tf.addN(inputs.map((i) => i.lower)), upper: tf.addN(inputs.map((i) => i.upper)) };
    case 'Concatenate': {
      const axis = Number(layer.axis ?? -1);
      return { lower: tf.concat(inputs.map((i) => i.lower), axis), upper: tf.concat(inputs.map((i) => i.upper), axis) };
    }
    default:
      return b;
  }
}

/**
 * Lower bounds of logit_label − logit_j for every class j (0 at j = label) over the L∞ ball of
 * radius `epsilon` around each input, intersected with `bounds`: [N, classes]. Their negation is
 * the worst-case logit vector of IBP training (cross-entropy on −margins).
 */
export function ibpMargins(model: unknown, x: tf.Tensor, labels: tf.Tensor1D, epsilon: number | tf.Scalar, bounds: readonly [number, number] = [0, 1]): tf.Tensor2D {
  // Validates every layer (UNSUPPORTED_LAYER otherwise), so the switch above meets known ones only.
  lowerLayersModel(model);
  const graph = traceLayers(model)!;
  return tf.tidy(() => {
    const boxes: Box[] = [];
    boxes[graph.input] = { lower: tf.maximum(tf.sub(x, epsilon), bounds[0]), upper: tf.minimum(tf.add(x, epsilon), bounds[1]) };
    const producer = graph.calls.find((c) => c.output === graph.output);
    const last = producer && producer.layer.getClassName() === 'Dense' && ['linear', 'softmax'].includes(activationName(producer.layer.activation)) ? producer : null;
    for (const call of graph.calls) {
      if (call === last) continue;
      boxes[call.output] = layerInterval(call.layer, call.inputs.map((s) => boxes[s]!));
    }
    if (!last) {
      const out = boxes[graph.output]!;
      const classes = out.lower.shape[1]!;
      const own = tf.oneHot(labels, classes);
      const lowerOwn = tf.sum(tf.mul(out.lower, own), 1, true);
      return tf.mul(tf.sub(lowerOwn, out.upper), tf.sub(1, own)) as tf.Tensor2D;
    }
    // The specification e_label − e_j folded into the last layer: rows W_label − W_j.
    const b = boxes[last.inputs[0]!]!;
    const w = variable(last.layer, 'kernel') as tf.Tensor2D;
    const bias = variable(last.layer, 'bias');
    const wLabel = tf.gather(tf.transpose(w), labels) as tf.Tensor2D;
    const rows = tf.sub(tf.expandDims(wLabel, 2), tf.expandDims(w, 0));
    const m = mid(b);
    const centre = tf.squeeze(tf.matMul(tf.expandDims(m, 1), rows), [1]);
    const spread = tf.squeeze(tf.matMul(tf.expandDims(radius(b), 1), tf.abs(rows)), [1]);
    let margins = tf.sub(centre, spread);
    if (bias) margins = tf.add(margins, tf.sub(tf.expandDims(tf.gather(bias, labels), 1), tf.expandDims(bias, 0)));
    return margins as tf.Tensor2D;
  });
}
