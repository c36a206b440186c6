/**
 * Elementwise activations with hand-written derivatives, each matching the derivative tf.grad
 * takes of the tfjs-layers implementation (including at the kinks: relu' (0) = 0, the layers
 * 'relu6' is min(6, relu(x)) whose derivative vanishes at x = 6, ReLU({maxValue}) clips and
 * keeps it). Opaque activations are differentiated by tf.grad on the activation alone.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Activation } from '../../graph/types.js';

export interface ActivationSpec {
  /** Name for messages, e.g. 'relu', 'leakyReLU(0.3)'. */
  readonly name: string;
  /** Its name for tf.fused ops, when they can apply it (its derivative then reads the output alone). */
  readonly fused?: 'relu' | 'elu' | 'relu6' | 'linear';
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
export const RELU6: ActivationSpec = {
  name: 'relu6',
  fused: 'relu6',
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

/** x for x > 0, α·(eˣ − 1) otherwise; derivative y + α below zero. */
function eluWith(alpha: number): ActivationSpec {
  if (alpha === 1) return ELU;
  return {
    name: `elu(${alpha})`,
    needsInput: true,
    apply: (x) => tf.where(tf.greater(x, 0), x, tf.mul(alpha, tf.sub(tf.exp(x), 1))),
    backward: (dy, x, y) => tf.mul(dy, tf.where(tf.greater(x!, 0), tf.onesLike(x!), tf.add(y, alpha))),
  };
}

/** min(max(x, lo), hi); derivative 1 on lo < x ≤ hi (relu's convention at lo). */
function clip(lo: number, hi: number): ActivationSpec {
  if (lo === 0 && hi === 6) return RELU6;
  if (lo === 0) return clippedRelu(hi);
  return {
    name: `clip(${lo}, ${hi})`,
    needsInput: true,
    apply: (x) => tf.clipByValue(x, lo, hi),
    backward: (dy, x) => tf.mul(dy, tf.mul(tf.step(tf.sub(x!, lo)), tf.sub(1, tf.step(tf.sub(x!, hi))))),
  };
}

function hardSigmoid(alpha: number, beta: number): ActivationSpec {
  return {
    name: `hardSigmoid(${alpha}, ${beta})`,
    needsInput: true,
    apply: (x) => tf.clipByValue(tf.add(tf.mul(x, alpha), beta), 0, 1),
    backward: (dy, x) => {
      const z = tf.add(tf.mul(x!, alpha), beta);
      return tf.mul(dy, tf.mul(alpha, tf.mul(tf.step(z), tf.sub(1, tf.step(tf.sub(z, 1))))));
    },
  };
}

/** x·min(max(x/6 + 1/2, 0), 1); derivative 0 below −3, 1 above 3, (2x + 3)/6 between. */
const HARD_SWISH: ActivationSpec = {
  name: 'hardSwish',
  needsInput: true,
  apply: (x) => tf.mul(x, tf.clipByValue(tf.add(tf.div(x, 6), 0.5), 0, 1)),
  backward: (dy, x) => {
    const middle = tf.div(tf.add(tf.mul(x!, 2), 3), 6);
    const d = tf.where(tf.less(x!, -3), tf.zerosLike(x!), tf.where(tf.greater(x!, 3), tf.onesLike(x!), middle));
    return tf.mul(dy, d);
  },
};

/** x·σ(x); derivative σ + x·σ·(1 − σ). */
const SWISH: ActivationSpec = {
  name: 'swish',
  needsInput: true,
  apply: (x) => tf.mul(x, tf.sigmoid(x)),
  backward: (dy, x) => {
    const s = tf.sigmoid(x!);
    return tf.mul(dy, tf.add(s, tf.mul(x!, tf.mul(s, tf.sub(1, s)))));
  },
};

const GELU_C = Math.sqrt(2 / Math.PI);

/** 0.5·x·(1 + tanh(c·(x + 0.044715·x³))). */
const GELU_TANH: ActivationSpec = {
  name: 'gelu(tanh)',
  needsInput: true,
  apply: (x) => tf.mul(tf.mul(0.5, x), tf.add(1, tf.tanh(tf.mul(GELU_C, tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))),
  backward: (dy, x) => {
    const t = tf.tanh(tf.mul(GELU_C, tf.add(x!, tf.mul(0.044715, tf.pow(x!, 3)))));
    const inner = tf.mul(GELU_C, tf.add(1, tf.mul(3 * 0.044715, tf.square(x!))));
    const d = tf.add(tf.mul(0.5, tf.add(1, t)), tf.mul(tf.mul(0.5, x!), tf.mul(tf.sub(1, tf.square(t)), inner)));
    return tf.mul(dy, d);
  },
};

const SOFTPLUS: ActivationSpec = {
  name: 'softplus',
  needsInput: true,
  apply: (x) => tf.softplus(x),
  backward: (dy, x) => tf.mul(dy, tf.sigmoid(x!)),
};

const EXP: ActivationSpec = { name: 'exp', needsInput: false, apply: (x) => tf.exp(x), backward: (dy, _x, y) => tf.mul(dy, y) };
const ABS: ActivationSpec = { name: 'abs', needsInput: true, apply: (x) => tf.abs(x), backward: (dy, x) => tf.mul(dy, tf.sign(x!)) };
const NEG: ActivationSpec = { name: 'neg', needsInput: false, apply: (x) => tf.neg(x), backward: (dy) => tf.neg(dy) };
const SQRT: ActivationSpec = { name: 'sqrt', needsInput: false, apply: (x) => tf.sqrt(x), backward: (dy, _x, y) => tf.div(dy, tf.mul(2, y)) };
const RECIPROCAL: ActivationSpec = {
  name: 'reciprocal',
  needsInput: false,
  apply: (x) => tf.reciprocal(x),
  backward: (dy, _x, y) => tf.neg(tf.mul(dy, tf.square(y))),
};

/** The spec of a graph activation. Opaque ones keep their own forward; tf.grad differentiates them. */
export function activationSpecOf(a: Activation): ActivationSpec {
  switch (a.fn) {
    case 'relu':
      return RELU;
    case 'leakyRelu':
      return leakyRelu(a.alpha);
    case 'clip':
      return clip(a.min, a.max);
    case 'sigmoid':
      return SIGMOID;
    case 'tanh':
      return TANH;
    case 'elu':
      return eluWith(a.alpha);
    case 'hardSigmoid':
      return hardSigmoid(a.alpha, a.beta);
    case 'hardSwish':
      return HARD_SWISH;
    case 'swish':
      return SWISH;
    case 'gelu':
      return a.approximate ? GELU_TANH : GELU;
    case 'softplus':
      return SOFTPLUS;
    case 'exp':
      return EXP;
    case 'abs':
      return ABS;
    case 'neg':
      return NEG;
    case 'sqrt':
      return SQRT;
    case 'reciprocal':
      return RECIPROCAL;
    case 'opaque':
      return {
        name: a.name,
        needsInput: true,
        viaAutodiff: true,
        apply: (x) => a.apply(x),
        backward: (dy, x) => tf.grad((input: tf.Tensor) => a.apply(input))(x!, dy),
      };
  }
}
