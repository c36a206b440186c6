/**
 * An oracle for the onnxruntime executor that shares none of its code: the model graph
 * interpreted with plain tfjs ops in NHWC, differentiated by tf.grad (run it on the cpu backend).
 */
import * as tf from '@tensorflow/tfjs';
import type { Activation, ModelGraph, Op, Padding } from '../../src/graph/types.js';
import type { LossFn } from '../../src/engine/tfjs/types.js';
import { explicitPads } from '../../src/graph/shapes.js';

function activation(a: Activation, x: tf.Tensor): tf.Tensor {
  switch (a.fn) {
    case 'relu':
      return tf.relu(x);
    case 'leakyRelu':
      return tf.leakyRelu(x, a.alpha);
    case 'clip':
      return tf.clipByValue(x, a.min, a.max);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'elu':
      return tf.add(tf.relu(x), tf.mul(a.alpha, tf.sub(tf.exp(tf.minimum(x, 0)), 1)));
    case 'hardSigmoid':
      return tf.clipByValue(tf.add(tf.mul(x, a.alpha), a.beta), 0, 1);
    case 'hardSwish':
      return tf.mul(x, tf.clipByValue(tf.add(tf.div(x, 6), 0.5), 0, 1));
    case 'swish':
      return tf.mul(x, tf.sigmoid(x));
    case 'gelu':
      if (a.approximate) return tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(x, tf.mul(0.044715, tf.pow(x, 3)))))));
      return tf.mul(tf.mul(0.5, x), tf.add(1, tf.erf(tf.div(x, Math.SQRT2))));
    case 'softplus':
      return tf.softplus(x);
    case 'exp':
      return tf.exp(x);
    case 'abs':
      return tf.abs(x);
    case 'neg':
      return tf.neg(x);
    case 'sqrt':
      return tf.sqrt(x);
    case 'reciprocal':
      return tf.reciprocal(x);
    case 'opaque':
      return a.apply(x);
  }
}

function pads(p: Padding): 'valid' | 'same' | [[number, number], [number, number], [number, number], [number, number]] {
  return typeof p === 'string' ? p : [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]];
}

/** A dilated kernel as the plain kernel it equals, zeros between taps (tf.grad has no dilated conv gradients). */
function dilate(filter: tf.Tensor4D, dilations: readonly number[]): tf.Tensor4D {
  const [dh, dw] = dilations as [number, number];
  if (dh === 1 && dw === 1) return filter;
  const [kh, kw, c, o] = filter.shape;
  const values = filter.dataSync();
  const out = new Float32Array(((kh - 1) * dh + 1) * ((kw - 1) * dw + 1) * c * o);
  const width = (kw - 1) * dw + 1;
  for (let a = 0; a < kh; a++) for (let b = 0; b < kw; b++) out.set(values.subarray((a * kw + b) * c * o, (a * kw + b + 1) * c * o), (a * dh * width + b * dw) * c * o);
  return tf.tensor4d(out, [(kh - 1) * dh + 1, width, c, o]);
}

function node(op: Op, ins: tf.Tensor[]): tf.Tensor {
  const x = ins[0]!;
  switch (op.kind) {
    case 'constant':
      return tf.expandDims(op.value.tensor(), 0);
    case 'conv2d': {
      const y = tf.conv2d(x as tf.Tensor4D, dilate(op.filter.tensor() as tf.Tensor4D, op.dilations), op.strides as [number, number], pads(op.padding), 'NHWC');
      return op.bias ? tf.add(y, op.bias.tensor()) : y;
    }
    case 'depthwiseConv2d': {
      const y = tf.depthwiseConv2d(x as tf.Tensor4D, dilate(op.filter.tensor() as tf.Tensor4D, op.dilations), op.strides as [number, number], pads(op.padding) as 'valid', 'NHWC');
      return op.bias ? tf.add(y, op.bias.tensor()) : y;
    }
    case 'dense': {
      const shape = x.shape;
      const flat = tf.reshape(x, [-1, shape[shape.length - 1]!]);
      const y = tf.matMul(flat as tf.Tensor2D, op.kernel.tensor() as tf.Tensor2D);
      const out = tf.reshape(y, [...shape.slice(0, -1), op.kernel.shape[1]!]);
      return op.bias ? tf.add(out, op.bias.tensor()) : out;
    }
    case 'batchNorm':
      return tf.batchNorm(x, op.mean.tensor(), op.variance.tensor(), op.beta?.tensor(), op.gamma?.tensor(), op.epsilon);
    case 'activation':
      return activation(op.activation, x);
    case 'softmax':
      return tf.softmax(x);
    case 'maxPool': {
      if (typeof op.padding === 'string') return tf.maxPool(x as tf.Tensor4D, op.size as [number, number], op.strides as [number, number], op.padding);
      const p = op.padding;
      return tf.maxPool(tf.pad(x, [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]], -1e30) as tf.Tensor4D, op.size as [number, number], op.strides as [number, number], 'valid');
    }
    case 'avgPool': {
      // tfjs's own gradient of a 'same' average pool divides by the full window even where its
      // forward excludes padding: written with explicit pads, tf.grad is exact.
      if (op.padding === 'same') return node({ ...op, padding: explicitPads('same', [x.shape[1]!, x.shape[2]!], op.size, op.strides), countPadding: false }, ins);
      if (op.padding === 'valid') return tf.avgPool(x as tf.Tensor4D, op.size as [number, number], op.strides as [number, number], op.padding);
      const p = op.padding;
      const padded = tf.pad(x, [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]]) as tf.Tensor4D;
      if (op.countPadding) return tf.avgPool(padded, op.size as [number, number], op.strides as [number, number], 'valid');
      const ones = tf.pad(tf.onesLike(x), [[0, 0], [p[0], p[1]], [p[2], p[3]], [0, 0]]) as tf.Tensor4D;
      return tf.div(tf.avgPool(padded, op.size as [number, number], op.strides as [number, number], 'valid'), tf.avgPool(ones, op.size as [number, number], op.strides as [number, number], 'valid'));
    }
    case 'mean':
      return tf.mean(x, op.axes.map((a) => (a < 0 ? a + x.rank - 1 : a) + 1), op.keepDims);
    case 'binary': {
      const f = { add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div, max: tf.maximum, min: tf.minimum }[op.fn];
      return f(x, ins[1]!);
    }
    case 'concat':
      return tf.concat(ins, (op.axis < 0 ? op.axis + x.rank - 1 : op.axis) + 1);
    case 'pad':
      return tf.pad(x, [[0, 0], ...op.pads.map((p) => [p[0], p[1]] as [number, number])], op.value);
    case 'reshape':
      return tf.reshape(x, [-1, ...op.shape]);
    case 'transpose':
      return tf.transpose(x, [0, ...op.perm.map((p) => p + 1)]);
    case 'slice':
      return tf.slice(x, [0, ...op.begin], [-1, ...op.size]);
    case 'opaque':
      return op.apply(ins);
  }
}

export function referenceForward(graph: ModelGraph, x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const values: tf.Tensor[] = [];
    values[graph.input] = x;
    for (const n of graph.nodes) values[n.output] = node(n.op, n.inputs.map((s) => values[s]!));
    return values[graph.output] as tf.Tensor2D;
  });
}

/** Logits, per-sample loss and d(Σ loss)/dx by tf.grad through the interpreted graph. */
export function referenceGradient(graph: ModelGraph, x: tf.Tensor, loss: LossFn): { logits: Float32Array; loss: Float32Array; gradient: Float32Array } {
  return tf.tidy(() => {
    const logits = referenceForward(graph, x);
    const perSample = loss(logits);
    const gradient = tf.grad((input: tf.Tensor) => tf.sum(loss(referenceForward(graph, input))))(x);
    return { logits: logits.dataSync() as Float32Array, loss: perSample.dataSync() as Float32Array, gradient: gradient.dataSync() as Float32Array };
  });
}

/** max |a − b| / max |b|: error relative to the reference's scale. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let error = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    error = Math.max(error, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return scale === 0 ? error : error / scale;
}
