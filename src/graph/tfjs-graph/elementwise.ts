/**
 * Elementwise TensorFlow ops: how each folds on known values (float32 arithmetic, like the
 * kernels) and which graph node computes it on the model's input.
 */
import type { Activation, BinaryFn } from '../types.js';

const f32 = Math.fround;

export interface UnaryRule {
  fold(x: number): number;
  /** The graph's activation for it; absent where it takes several nodes (see unary.ts). */
  readonly activation?: Activation;
}

export const UNARY: Record<string, UnaryRule> = {
  Relu: { fold: (x) => Math.max(x, 0), activation: { fn: 'relu' } },
  Relu6: { fold: (x) => Math.min(Math.max(x, 0), 6), activation: { fn: 'clip', min: 0, max: 6 } },
  Elu: { fold: (x) => (x > 0 ? x : f32(Math.expm1(x))), activation: { fn: 'elu', alpha: 1 } },
  Sigmoid: { fold: (x) => f32(1 / (1 + Math.exp(-x))), activation: { fn: 'sigmoid' } },
  Tanh: { fold: (x) => f32(Math.tanh(x)), activation: { fn: 'tanh' } },
  Softplus: { fold: (x) => f32(Math.log1p(Math.exp(-Math.abs(x))) + Math.max(x, 0)), activation: { fn: 'softplus' } },
  Exp: { fold: (x) => f32(Math.exp(x)), activation: { fn: 'exp' } },
  Abs: { fold: (x) => Math.abs(x), activation: { fn: 'abs' } },
  Neg: { fold: (x) => -x, activation: { fn: 'neg' } },
  Sqrt: { fold: (x) => f32(Math.sqrt(x)), activation: { fn: 'sqrt' } },
  Reciprocal: { fold: (x) => f32(1 / x), activation: { fn: 'reciprocal' } },
  Inv: { fold: (x) => f32(1 / x), activation: { fn: 'reciprocal' } },
  Rsqrt: { fold: (x) => f32(1 / Math.sqrt(x)) },
  Square: { fold: (x) => f32(x * x) },
  Selu: { fold: (x) => f32(x > 0 ? SELU_SCALE * x : SELU_SCALE * SELU_ALPHA * Math.expm1(x)) },
  Log: { fold: (x) => f32(Math.log(x)) },
  Floor: { fold: Math.floor },
  Ceil: { fold: Math.ceil },
  Round: { fold: roundHalfToEven },
  Sign: { fold: Math.sign },
};

/** The constants of TensorFlow's Selu. */
export const SELU_ALPHA = 1.6732632423543772;
export const SELU_SCALE = 1.0507009873554805;

function roundHalfToEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export interface BinaryRule {
  /** Integer tensors (shapes, counts) compute exactly; float ones round to float32 like the kernels. */
  fold(a: number, b: number, integer: boolean): number;
  /** The graph's binary node; absent where it takes several nodes. */
  readonly fn?: BinaryFn;
}

function arithmetic(op: (a: number, b: number) => number, fn?: BinaryFn): BinaryRule {
  return { fold: (a, b, integer) => (integer ? op(a, b) : f32(op(a, b))), ...(fn ? { fn } : {}) };
}

export const BINARY: Record<string, BinaryRule> = {
  Add: arithmetic((a, b) => a + b, 'add'),
  AddV2: arithmetic((a, b) => a + b, 'add'),
  BiasAdd: arithmetic((a, b) => a + b, 'add'),
  Sub: arithmetic((a, b) => a - b, 'sub'),
  Mul: arithmetic((a, b) => a * b, 'mul'),
  RealDiv: arithmetic((a, b) => a / b, 'div'),
  // TensorFlow's Div truncates integers; on floats it is RealDiv.
  Div: { fold: (a, b, integer) => (integer ? Math.trunc(a / b) : f32(a / b)), fn: 'div' },
  FloorDiv: arithmetic((a, b) => Math.floor(a / b)),
  FloorMod: arithmetic((a, b) => a - Math.floor(a / b) * b),
  Maximum: arithmetic(Math.max, 'max'),
  Minimum: arithmetic(Math.min, 'min'),
  Pow: arithmetic((a, b) => a ** b),
  SquaredDifference: arithmetic((a, b) => (a - b) * (a - b)),
};
