/**
 * Interval bound propagation as tfjs operations over the model graph, differentiable in the
 * model's weights: the bound certified training minimises (IBP, Gowal et al. 2018; the IBP half
 * of CROWN-IBP). It mirrors the float64 IBP of propagation.ts node for node, in float32 on the
 * backend: affine nodes carry the centre and the radius of the box (radius through |W|),
 * monotone nodes carry both ends. The margin bounds fold the specification into a final dense
 * node. For tfjs-layers models the graph's weights are the live variables, so gradients reach
 * them.
 *
 * Synchronous and tape-friendly: call it inside tf.tidy or tf.variableGrads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { importLayersModel } from '../graph/tfjs-layers/import.js';
import type { Activation, ModelGraph, Node, Padding } from '../graph/types.js';
import { isModelGraph, lowerLayersModel, lowerModelGraph } from './model.js';

interface Box {
  lower: tf.Tensor;
  upper: tf.Tensor;
  /** A value without the batch axis (a constant, or computed from constants only). */
  constant?: boolean;
}

const mid = (b: Box) => tf.div(tf.add(b.lower, b.upper), 2);
const radius = (b: Box) => tf.div(tf.sub(b.upper, b.lower), 2);
const fromMid = (m: tf.Tensor, r: tf.Tensor): Box => ({ lower: tf.sub(m, r), upper: tf.add(m, r) });
const both = (b: Box, f: (x: tf.Tensor) => tf.Tensor): Box => ({ lower: f(b.lower), upper: f(b.upper), constant: b.constant });

function hardSwish(x: tf.Tensor): tf.Tensor {
  return tf.div(tf.mul(x, tf.clipByValue(tf.add(x, 3), 0, 6)), 6);
}

function activation(a: Activation, b: Box): Box {
  const monotone = (f: (x: tf.Tensor) => tf.Tensor) => both(b, f);
  switch (a.fn) {
    case 'relu':
      return monotone(tf.relu);
    case 'leakyRelu':
      return monotone((x) => tf.leakyRelu(x, a.alpha));
    case 'clip':
      return monotone((x) => tf.clipByValue(x, a.min, a.max));
    case 'hardSigmoid':
      return monotone((x) => tf.clipByValue(tf.add(tf.mul(x, a.alpha), a.beta), 0, 1));
    case 'sigmoid':
      return monotone(tf.sigmoid);
    case 'tanh':
      return monotone(tf.tanh);
    case 'elu':
      return monotone((x) => tf.where(tf.greater(x, 0), x, tf.mul(a.alpha, tf.sub(tf.exp(x), 1))));
    case 'softplus':
      return monotone(tf.softplus);
    case 'exp':
      return monotone(tf.exp);
    case 'neg':
      return { lower: tf.neg(b.upper), upper: tf.neg(b.lower), constant: b.constant };
    case 'abs':
      return { lower: tf.relu(tf.maximum(b.lower, tf.neg(b.upper))), upper: tf.maximum(tf.abs(b.lower), tf.abs(b.upper)), constant: b.constant };
    case 'hardSwish': {
      // Decreasing up to its minimum at −1.5, increasing after (flat below −3).
      const atMinimum = hardSwish(tf.minimum(tf.maximum(b.lower, -1.5), b.upper));
      return { lower: atMinimum, upper: tf.maximum(hardSwish(b.lower), hardSwish(b.upper)), constant: b.constant };
    }
    default:
      throw new Error(`no interval rule for ${a.fn}`);
  }
}

/** Explicit pads as tfjs takes them; 'same' and 'valid' as they are. */
function tfPadding(padding: Padding): 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]] {
  if (typeof padding === 'string') return padding;
  return [[0, 0], [padding[0], padding[1]], [padding[2], padding[3]], [0, 0]];
}

/** A constant box with the batch axis, for ops that need one (concat). */
function batched(b: Box, like: tf.Tensor): Box {
  if (!b.constant) return b;
  const shape = [like.shape[0]!, ...b.lower.shape];
  return { lower: tf.broadcastTo(b.lower, shape), upper: tf.broadcastTo(b.upper, shape) };
}

function pool(node: Node & { op: { kind: 'maxPool' | 'avgPool' } }, b: Box): Box {
  const op = node.op;
  const size = op.size as [number, number];
  const strides = op.strides as [number, number];
  if (typeof op.padding === 'string') {
    const p = op.padding;
    const f = (x: tf.Tensor) => (op.kind === 'maxPool' ? tf.maxPool(x as tf.Tensor4D, size, strides, p) : tf.avgPool(x as tf.Tensor4D, size, strides, p));
    return both(b, f);
  }
  const pads: [number, number][] = [[0, 0], [op.padding[0], op.padding[1]], [op.padding[2], op.padding[3]], [0, 0]];
  if (op.kind === 'maxPool') return both(b, (x) => tf.maxPool(tf.pad(x, pads, -3e38) as tf.Tensor4D, size, strides, 'valid'));
  const average = (x: tf.Tensor) => tf.avgPool(tf.pad(x, pads) as tf.Tensor4D, size, strides, 'valid');
  if (op.countPadding) return both(b, average);
  // Padded zeros out of the divisor: the padded sum over the count of real positions.
  const share = average(tf.onesLike(b.lower));
  return both(b, (x) => tf.div(average(x), share));
}

function dense(x: tf.Tensor, kernel: tf.Tensor): tf.Tensor {
  if (x.rank === 2) return tf.matMul(x as tf.Tensor2D, kernel as tf.Tensor2D);
  const flat = tf.reshape(x, [-1, x.shape[x.rank - 1]!]) as tf.Tensor2D;
  return tf.reshape(tf.matMul(flat, kernel as tf.Tensor2D), [...x.shape.slice(0, -1), kernel.shape[1]!]);
}

function nodeInterval(node: Node, inputs: Box[]): Box {
  const op = node.op;
  const b = inputs[0]!;
  const withBias = (m: tf.Tensor, bias: { tensor(): tf.Tensor } | null) => (bias ? tf.add(m, bias.tensor()) : m);
  switch (op.kind) {
    case 'constant': {
      const v = op.value.tensor();
      return { lower: v, upper: v, constant: true };
    }
    case 'dense': {
      const w = op.kernel.tensor();
      return fromMid(withBias(dense(mid(b), w), op.bias), dense(radius(b), tf.abs(w)));
    }
    case 'conv2d': {
      const w = op.filter.tensor() as tf.Tensor4D;
      const conv = (x: tf.Tensor, k: tf.Tensor4D) => tf.conv2d(x as tf.Tensor4D, k, op.strides as [number, number], tfPadding(op.padding), 'NHWC', op.dilations as [number, number]);
      return fromMid(withBias(conv(mid(b), w), op.bias), conv(radius(b), tf.abs(w)));
    }
    case 'depthwiseConv2d': {
      const w = op.filter.tensor() as tf.Tensor4D;
      const conv = (x: tf.Tensor, k: tf.Tensor4D) => tf.depthwiseConv2d(x as tf.Tensor4D, k, op.strides as [number, number], tfPadding(op.padding), 'NHWC', op.dilations as [number, number]);
      return fromMid(withBias(conv(mid(b), w), op.bias), conv(radius(b), tf.abs(w)));
    }
    case 'batchNorm': {
      const inv = tf.rsqrt(tf.add(op.variance.tensor(), op.epsilon));
      const scale = op.gamma ? tf.mul(inv, op.gamma.tensor()) : inv;
      const m = tf.mul(tf.sub(mid(b), op.mean.tensor()), scale);
      return fromMid(op.beta ? tf.add(m, op.beta.tensor()) : m, tf.mul(radius(b), tf.abs(scale)));
    }
    case 'activation':
      return activation(op.activation, b);
    case 'maxPool':
    case 'avgPool':
      return pool(node as Node & { op: typeof op }, b);
    case 'mean':
      return both(b, (x) => tf.mean(x, op.axes.map((a) => (a < 0 ? a + x.rank : a + (b.constant ? 0 : 1))), op.keepDims));
    case 'binary': {
      const [p, q] = inputs as [Box, Box];
      const constant = p.constant && q.constant;
      switch (op.fn) {
        case 'add':
          return { lower: tf.add(p.lower, q.lower), upper: tf.add(p.upper, q.upper), constant };
        case 'sub':
          return { lower: tf.sub(p.lower, q.upper), upper: tf.sub(p.upper, q.lower), constant };
        case 'max':
          return { lower: tf.maximum(p.lower, q.lower), upper: tf.maximum(p.upper, q.upper), constant };
        case 'min':
          return { lower: tf.minimum(p.lower, q.lower), upper: tf.minimum(p.upper, q.upper), constant };
        case 'mul':
        case 'div': {
          // Lowering admits only a constant factor (or divisor).
          const [v, c] = q.constant ? [p, q.lower] : [q, p.lower];
          const factor = op.fn === 'div' ? tf.div(1, c) : c;
          return { ...fromMid(tf.mul(mid(v), factor), tf.mul(radius(v), tf.abs(factor))), constant };
        }
      }
      break;
    }
    case 'concat': {
      const like = inputs.find((i) => !i.constant)?.lower;
      const all = like ? inputs.map((i) => batched(i, like)) : inputs;
      const rank = like ? like.rank - 1 : inputs[0]!.lower.rank;
      const axis = (op.axis < 0 ? op.axis + rank : op.axis) + (like ? 1 : 0);
      return { lower: tf.concat(all.map((i) => i.lower), axis), upper: tf.concat(all.map((i) => i.upper), axis), constant: !like };
    }
    case 'pad': {
      const pads = [...(b.constant ? [] : [[0, 0] as [number, number]]), ...op.pads.map((p) => [p[0], p[1]] as [number, number])];
      return both(b, (x) => tf.pad(x, pads, op.value));
    }
    case 'reshape':
      return both(b, (x) => tf.reshape(x, b.constant ? [...op.shape] : [x.shape[0]!, ...op.shape]));
    case 'transpose':
      return both(b, (x) => tf.transpose(x, b.constant ? [...op.perm] : [0, ...op.perm.map((p) => p + 1)]));
    case 'slice':
      return both(b, (x) => (b.constant ? tf.slice(x, [...op.begin], [...op.size]) : tf.slice(x, [0, ...op.begin], [-1, ...op.size])));
    case 'softmax':
    case 'opaque':
      break;
  }
  throw new Error(`no interval rule for ${node.source}`);
}

/** Graphs of LayersModels, imported once: their weights are the live variables. */
const imported = new WeakMap<object, ModelGraph>();
/** Graphs already shown boundable (structure does not change with training). */
const checked = new WeakSet<ModelGraph>();

function graphOf(model: unknown): ModelGraph {
  if (isModelGraph(model)) {
    if (!checked.has(model)) lowerModelGraph(model);
    checked.add(model);
    return model;
  }
  let graph = imported.get(model as object);
  if (!graph) {
    // Validates every node (UNSUPPORTED_LAYER otherwise), so nodeInterval meets known ones only.
    lowerLayersModel(model);
    graph = importLayersModel(model)!;
    imported.set(model as object, graph);
    checked.add(graph);
  }
  return graph;
}

/**
 * Lower bounds of logit_label − logit_j for every class j (0 at j = label) over the L∞ ball of
 * radius `epsilon` around each input, intersected with `bounds`: [N, classes]. Their negation is
 * the worst-case logit vector of IBP training (cross-entropy on −margins). `model`: a
 * tf.LayersModel or a ModelGraph.
 */
export function ibpMargins(model: unknown, x: tf.Tensor, labels: tf.Tensor1D, epsilon: number | tf.Scalar, bounds: readonly [number, number] = [0, 1]): tf.Tensor2D {
  const graph = graphOf(model);
  return tf.tidy(() => {
    const boxes: Box[] = [];
    boxes[graph.input] = { lower: tf.maximum(tf.sub(x, epsilon), bounds[0]), upper: tf.minimum(tf.add(x, epsilon), bounds[1]) };
    const producer = graph.nodes.find((n) => n.output === graph.output);
    const foldable = producer?.op.kind === 'dense' && graph.shapes[producer.inputs[0]!]!.length === 1 ? producer : null;
    for (const node of graph.nodes) {
      if (node === foldable) continue;
      boxes[node.output] = nodeInterval(node, node.inputs.map((s) => boxes[s]!));
    }
    if (!foldable || foldable.op.kind !== 'dense') {
      const out = boxes[graph.output]!;
      const classes = out.lower.shape[1]!;
      const own = tf.oneHot(labels, classes);
      const lowerOwn = tf.sum(tf.mul(out.lower, own), 1, true);
      return tf.mul(tf.sub(lowerOwn, out.upper), tf.sub(1, own)) as tf.Tensor2D;
    }
    // The specification e_label − e_j folded into the last dense node: rows W_label − W_j.
    const b = boxes[foldable.inputs[0]!]!;
    const w = foldable.op.kernel.tensor() as tf.Tensor2D;
    const bias = foldable.op.bias?.tensor();
    const wLabel = tf.gather(tf.transpose(w), labels) as tf.Tensor2D;
    const rows = tf.sub(tf.expandDims(wLabel, 2), tf.expandDims(w, 0));
    const centre = tf.squeeze(tf.matMul(tf.expandDims(mid(b), 1), rows), [1]);
    const spread = tf.squeeze(tf.matMul(tf.expandDims(radius(b), 1), tf.abs(rows)), [1]);
    let margins = tf.sub(centre, spread);
    if (bias) margins = tf.add(margins, tf.sub(tf.expandDims(tf.gather(bias, labels), 1), tf.expandDims(bias, 0)));
    return margins as tf.Tensor2D;
  });
}
