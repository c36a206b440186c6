/** Elementwise activations: Relu, Clip, LeakyRelu, PRelu, Sigmoid, Tanh, HardSigmoid, HardSwish, Gelu, … */
import { UnsupportedNode, type Activation } from '../../types.js';
import type { HostTensor } from '../host-tensor.js';
import { slotValue, type ImportContext, type OnnxNode, type Rule, type Value } from '../context.js';

function activate(node: OnnxNode, ctx: ImportContext, activation: Activation): Value {
  const x = ctx.slotInput(node, 0);
  return slotValue(ctx.builder.add({ kind: 'activation', activation }, [x.slot], node.source), x.permuted);
}

function fixed(activation: Activation): Rule {
  return (node, ctx) => activate(node, ctx, activation);
}

/** Clip's bounds: attributes before opset 11, optional inputs since. */
function clip(node: OnnxNode, ctx: ImportContext): Value {
  let min = Number.NEGATIVE_INFINITY;
  let max = Number.POSITIVE_INFINITY;
  if (node.opset < 11) {
    min = node.attrs.float('min', min);
    max = node.attrs.float('max', max);
  } else {
    const lo = ctx.optionalConst(node, 1, 'min');
    const hi = ctx.optionalConst(node, 2, 'max');
    if (lo) min = lo.data[0]!;
    if (hi) max = hi.data[0]!;
  }
  if (min === 0 && max === Number.POSITIVE_INFINITY) return activate(node, ctx, { fn: 'relu' });
  if (min === Number.NEGATIVE_INFINITY && max === Number.POSITIVE_INFINITY) return ctx.slotInput(node, 0);
  if (!(min <= max)) throw new UnsupportedNode(node.source, `clips to the empty range [${min}, ${max}]`);
  return activate(node, ctx, { fn: 'clip', min, max });
}

/**
 * PRelu: one slope in [0, 1] is max(x, αx); any other slope tensor is max(x, 0) + slope·min(x, 0),
 * built from binary nodes with the slope as a constant laid out like x.
 */
function prelu(node: OnnxNode, ctx: ImportContext): Value {
  return sloped(node, ctx, ctx.constInput(node, 1, 'slope'));
}

function sloped(node: OnnxNode, ctx: ImportContext, slope: HostTensor): Value {
  const x = ctx.slotInput(node, 0);
  const first = slope.data[0]!;
  if (slope.data.every((s) => s === first) && first >= 0 && first <= 1) return activate(node, ctx, { fn: 'leakyRelu', alpha: first });
  const zero = ctx.constantBeside({ dtype: 'float', shape: [], data: new Float32Array([0]) }, x, node.source);
  const s = ctx.constantBeside(slope, x, node.source);
  const b = ctx.builder;
  const positive = b.add({ kind: 'binary', fn: 'max' }, [x.slot, zero], node.source);
  const negative = b.add({ kind: 'binary', fn: 'min' }, [x.slot, zero], node.source);
  const scaled = b.add({ kind: 'binary', fn: 'mul' }, [negative, s], node.source);
  return slotValue(b.add({ kind: 'binary', fn: 'add' }, [positive, scaled], node.source), x.permuted);
}

function gelu(node: OnnxNode, ctx: ImportContext): Value {
  const approximate = node.attrs.string('approximate', 'none');
  if (approximate !== 'none' && approximate !== 'tanh') throw new UnsupportedNode(node.source, `approximate = ${JSON.stringify(approximate)}`);
  return activate(node, ctx, { fn: 'gelu', approximate: approximate === 'tanh' });
}

export const ACTIVATION_RULES: Record<string, Rule> = {
  Relu: fixed({ fn: 'relu' }),
  Sigmoid: fixed({ fn: 'sigmoid' }),
  Tanh: fixed({ fn: 'tanh' }),
  Softplus: fixed({ fn: 'softplus' }),
  Exp: fixed({ fn: 'exp' }),
  Abs: fixed({ fn: 'abs' }),
  Neg: fixed({ fn: 'neg' }),
  Sqrt: fixed({ fn: 'sqrt' }),
  Reciprocal: fixed({ fn: 'reciprocal' }),
  HardSwish: fixed({ fn: 'hardSwish' }),
  Clip: clip,
  PRelu: prelu,
  Gelu: gelu,
  LeakyRelu: (node, ctx) => sloped(node, ctx, { dtype: 'float', shape: [], data: new Float32Array([node.attrs.float('alpha', 0.01)]) }),
  Elu: (node, ctx) => activate(node, ctx, { fn: 'elu', alpha: node.attrs.float('alpha', 1) }),
  HardSigmoid: (node, ctx) => activate(node, ctx, { fn: 'hardSigmoid', alpha: node.attrs.float('alpha', 0.2), beta: node.attrs.float('beta', 0.5) }),
};
