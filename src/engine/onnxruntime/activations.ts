/**
 * Elementwise activations in ONNX: the function, and its vector-Jacobian product as a mask or a
 * local derivative built from the saved input x and output y. Derivatives at kinks follow the
 * tfjs executor: relu'(0) = 0, clip passes the gradient strictly inside (min, max). Masks read
 * the output where it decides as well as the input (relu, leaky relu, elu, clip), so that the
 * pre-activation need not be kept and onnxruntime can fuse the activation into its convolution.
 */
import type { Activation } from '../../graph/types.js';
import { UnsupportedNode } from '../../graph/types.js';
import type { OnnxWriter } from './proto.js';

const SQRT1_2 = Math.SQRT1_2;
const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_CUBIC = 0.044715;

export function emitActivation(w: OnnxWriter, a: Activation, x: string, source: string): string {
  switch (a.fn) {
    case 'relu':
      return w.op('Relu', [x]);
    case 'leakyRelu':
      return w.op('LeakyRelu', [x], { alpha: { f: a.alpha } });
    case 'clip':
      return w.op('Clip', [x, w.scalar(a.min), w.scalar(a.max)]);
    case 'sigmoid':
      return w.op('Sigmoid', [x]);
    case 'tanh':
      return w.op('Tanh', [x]);
    case 'elu':
      return w.op('Elu', [x], { alpha: { f: a.alpha } });
    case 'hardSigmoid':
      return w.op('HardSigmoid', [x], { alpha: { f: a.alpha }, beta: { f: a.beta } });
    case 'hardSwish':
      return w.op('HardSwish', [x]);
    case 'swish':
      return w.op('Mul', [x, w.op('Sigmoid', [x])]);
    case 'gelu':
      return w.op('Mul', [x, geluGate(w, x, a.approximate)]);
    case 'softplus':
      return w.op('Softplus', [x]);
    case 'exp':
      return w.op('Exp', [x]);
    case 'abs':
      return w.op('Abs', [x]);
    case 'neg':
      return w.op('Neg', [x]);
    case 'sqrt':
      return w.op('Sqrt', [x]);
    case 'reciprocal':
      return w.op('Reciprocal', [x]);
    case 'opaque':
      throw new UnsupportedNode(source, `custom activation '${a.name}' is known only by its tfjs implementation`);
  }
}

/** Φ(x) (exact) or its tanh approximation ½(1 + tanh(c(x + 0.044715x³))). */
function geluGate(w: OnnxWriter, x: string, approximate: boolean): string {
  const half = w.scalar(0.5);
  const one = w.scalar(1);
  if (!approximate) return w.op('Mul', [half, w.op('Add', [one, w.op('Erf', [w.op('Mul', [x, w.scalar(SQRT1_2)])])])]);
  return w.op('Mul', [half, w.op('Add', [one, geluTanh(w, x)])]);
}

function geluTanh(w: OnnxWriter, x: string): string {
  const cube = w.op('Mul', [x, w.op('Mul', [x, x])]);
  const inner = w.op('Add', [x, w.op('Mul', [cube, w.scalar(GELU_CUBIC)])]);
  return w.op('Tanh', [w.op('Mul', [inner, w.scalar(GELU_C)])]);
}

/** dL/dx = g ⊙ f'(x), from the input x and output y of the forward pass. */
export function activationVjp(w: OnnxWriter, a: Activation, g: string, x: string, y: string): string {
  const zero = w.scalar(0);
  const one = w.scalar(1);
  const mul = (p: string, q: string) => w.op('Mul', [p, q]);
  const where = (condition: string, yes: string, no: string) => w.op('Where', [condition, yes, no]);
  switch (a.fn) {
    case 'relu':
      return where(w.op('Greater', [y, zero]), g, zero);
    case 'leakyRelu':
      return where(w.op('Greater', [y, zero]), g, mul(g, w.scalar(a.alpha)));
    case 'clip':
      return where(w.op('And', [w.op('Greater', [y, w.scalar(a.min)]), w.op('Less', [y, w.scalar(a.max)])]), g, zero);
    case 'sigmoid':
      return mul(g, mul(y, w.op('Sub', [one, y])));
    case 'tanh':
      return mul(g, w.op('Sub', [one, mul(y, y)]));
    case 'elu':
      return where(w.op('Greater', [y, zero]), g, mul(g, w.op('Add', [y, w.scalar(a.alpha)])));
    case 'hardSigmoid': {
      const t = w.op('Add', [mul(x, w.scalar(a.alpha)), w.scalar(a.beta)]);
      return where(w.op('And', [w.op('Greater', [t, zero]), w.op('Less', [t, one])]), mul(g, w.scalar(a.alpha)), zero);
    }
    case 'hardSwish': {
      // d/dx x·hs(x) = hs(x) + x/6 where the gate is linear (−3 < x < 3).
      const gate = w.op('HardSigmoid', [x], { alpha: { f: 1 / 6 }, beta: { f: 0.5 } });
      const inside = w.op('And', [w.op('Greater', [x, w.scalar(-3)]), w.op('Less', [x, w.scalar(3)])]);
      const slope = where(inside, mul(x, w.scalar(1 / 6)), zero);
      return mul(g, w.op('Add', [gate, slope]));
    }
    case 'swish': {
      const s = w.op('Sigmoid', [x]);
      return mul(g, mul(s, w.op('Add', [one, mul(x, w.op('Sub', [one, s]))])));
    }
    case 'gelu': {
      if (!a.approximate) {
        // Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π).
        const density = mul(w.op('Exp', [mul(mul(x, x), w.scalar(-0.5))]), w.scalar(1 / Math.sqrt(2 * Math.PI)));
        return mul(g, w.op('Add', [geluGate(w, x, false), mul(x, density)]));
      }
      const t = geluTanh(w, x);
      const dInner = mul(w.op('Add', [one, mul(mul(x, x), w.scalar(3 * GELU_CUBIC))]), w.scalar(GELU_C));
      const local = w.op('Add', [mul(w.scalar(0.5), w.op('Add', [one, t])), mul(mul(mul(w.scalar(0.5), x), w.op('Sub', [one, mul(t, t)])), dInner)]);
      return mul(g, local);
    }
    case 'softplus':
      return mul(g, w.op('Sigmoid', [x]));
    case 'exp':
      return mul(g, y);
    case 'abs':
      return mul(g, w.op('Sign', [x]));
    case 'neg':
      return w.op('Neg', [g]);
    case 'sqrt':
      return w.op('Div', [mul(g, w.scalar(0.5)), y]);
    case 'reciprocal':
      return w.op('Neg', [mul(g, mul(y, y))]);
    case 'opaque':
      throw new UnsupportedNode(a.name, `custom activation '${a.name}' is known only by its tfjs implementation`);
  }
}
