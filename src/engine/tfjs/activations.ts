/**
 * Elementwise activations with hand-written derivatives, each matching the derivative tf.grad
 * takes of the tfjs-layers implementation (including at the kinks: relu' (0) = 0, the layers
 * 'relu6' is min(6, relu(x)) whose derivative vanishes at x = 6, ReLU({maxValue}) clips and
 * keeps it). Activations not listed here are differentiated by tf.grad on the activation alone.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface ActivationSpec {
  /** Name for messages, e.g. 'relu', 'leakyReLU(0.3)'. */
  readonly name: string;
  /** Fused activation name for tf.fused ops, when tfjs-layers fuses it too. */
  readonly fused?: 'relu' | 'elu' | 'linear';
  /** The output is relu(·) of the pre-activation: zero exactly where the derivative is. */
  readonly isRelu?: boolean;
  /** The softmax over the last axis (peeled off a model's end). */
  readonly isSoftmax?: boolean;
  /** Needs the pre-activation (not only the output) in backward. */
  readonly needsInput: boolean;
  /** Whether this derivative comes from tf.grad. */
  readonly viaAutodiff?: boolean;
  apply(x: tf.Tensor): tf.Tensor;
  /** dL/dx from dL/dy, the pre-activation x and the output y. */
  backward(dy: tf.Tensor, x: tf.Tensor | null, y: tf.Tensor): tf.Tensor;
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

export const LINEAR: ActivationSpec = {
  name: 'linear',
  fused: 'linear',
  needsInput: false,
  apply: (x) => x,
  backward: (dy) => dy,
};

export const RELU: ActivationSpec = {
  name: 'relu',
  fused: 'relu',
  isRelu: true,
  needsInput: false,
  apply: (x) => tf.relu(x),
  backward: (dy, _x, y) => tf.mul(dy, tf.step(y)),
};

export const ELU: ActivationSpec = {
  name: 'elu',
  fused: 'elu',
  needsInput: false,
  apply: (x) => tf.elu(x),
  backward: (dy, _x, y) => tf.engine().runKernel('EluGrad', { dy, y }) as tf.Tensor,
};

/** tfjs-layers' 'relu6': minimum(6, relu(x)); derivative 1 on 0 < x < 6. */
const RELU6: ActivationSpec = {
  name: 'relu6',
  needsInput: false,
  apply: (x) => tf.minimum(6, tf.relu(x)),
  backward: (dy, _x, y) => tf.mul(dy, tf.mul(tf.step(y), tf.step(tf.sub(6, y)))),
};

const SIGMOID: ActivationSpec = {
  name: 'sigmoid',
  needsInput: false,
  apply: (x) => tf.sigmoid(x),
  backward: (dy, _x, y) => tf.mul(dy, tf.mul(y, tf.sub(1, y))),
};

const TANH: ActivationSpec = {
  name: 'tanh',
  needsInput: false,
  apply: (x) => tf.tanh(x),
  backward: (dy, _x, y) => tf.mul(tf.sub(1, tf.square(y)), dy),
};

export const SOFTMAX: ActivationSpec = {
  name: 'softmax',
  isSoftmax: true,
  needsInput: false,
  apply: (x) => tf.softmax(x, -1),
  backward: (dy, _x, y) => {
    const dyTimesY = tf.mul(dy, y);
    return tf.sub(dyTimesY, tf.mul(tf.sum(dyTimesY, -1, true), y));
  },
};

/** tfjs-layers' 'gelu': x·Φ(x) with the exact normal CDF; derivative Φ(x) + x·φ(x). */
const GELU: ActivationSpec = {
  name: 'gelu',
  needsInput: true,
  apply: (x) => tf.mul(x, tf.mul(0.5, tf.add(1, tf.erf(tf.div(x, Math.SQRT2))))),
  backward: (dy, x) => {
    const cdf = tf.mul(0.5, tf.add(1, tf.erf(tf.div(x!, Math.SQRT2))));
    const pdf = tf.mul(INV_SQRT_2PI, tf.exp(tf.mul(-0.5, tf.square(x!))));
    return tf.mul(dy, tf.add(cdf, tf.mul(x!, pdf)));
  },
};

export function leakyRelu(alpha: number): ActivationSpec {
  return {
    name: `leakyReLU(${alpha})`,
    needsInput: true,
    apply: (x) => tf.leakyRelu(x, alpha),
    // step(x, α) is 1 where x > 0 and α elsewhere: tf's `where(x > 0, dy, α·dy)` in one pass.
    backward: (dy, x) => tf.mul(dy, tf.step(x!, alpha)),
  };
}

/** ReLU layer with maxValue m: clipByValue(relu(x), 0, m); derivative 1 on 0 < x ≤ m. */
export function clippedRelu(maxValue: number): ActivationSpec {
  return {
    name: `ReLU(maxValue ${maxValue})`,
    needsInput: true,
    apply: (x) => tf.clipByValue(tf.relu(x), 0, maxValue),
    backward: (dy, x) => tf.mul(dy, tf.mul(tf.step(x!), tf.sub(1, tf.step(tf.sub(x!, maxValue))))),
  };
}

const BY_NAME: Record<string, ActivationSpec> = {
  linear: LINEAR,
  relu: RELU,
  relu6: RELU6,
  elu: ELU,
  sigmoid: SIGMOID,
  tanh: TANH,
  softmax: SOFTMAX,
  gelu: GELU,
};

interface LayersActivation {
  getClassName(): string;
  apply(x: tf.Tensor): tf.Tensor;
}

/**
 * The spec for a tfjs-layers activation object. Unknown ones keep their own forward and get
 * their derivative from tf.grad, which every elementwise op supports on every backend.
 */
export function activationSpec(activation: LayersActivation | null | undefined): ActivationSpec {
  if (!activation) return LINEAR;
  const name = activation.getClassName();
  const known = BY_NAME[name];
  if (known) return known;
  return {
    name,
    needsInput: true,
    viaAutodiff: true,
    apply: (x) => activation.apply(x),
    backward: (dy, x) => tf.grad((input: tf.Tensor) => activation.apply(input))(x!, dy),
  };
}
