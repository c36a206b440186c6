/** Elementwise ops on computed values: activations, arithmetic with broadcasting, softmax. */
import type { Context } from '../context.js';
import { BINARY, UNARY } from '../elementwise.js';
import { isKnown, type Computed, type Value } from '../values.js';
import { activate } from './activations.js';

function unary(name: string) {
  return (ctx: Context): Computed => {
    const y = activate(ctx, ctx.computed(0), name, name === 'LeakyRelu' ? ctx.attrs.float('alpha', 0.2) : name === 'Prelu' ? ctx.input(1) : undefined);
    return y ?? ctx.fail(`${name} has no graph equivalent`);
  };
}

/** Both operands as slots; at least one is computed (known pairs were folded). */
function operands(ctx: Context, a: Value, b: Value): [Computed, Computed] {
  const partner = isKnown(a) ? (b as Computed) : a;
  if (!isKnown(a) && !isKnown(b) && ctx.shape(a).length !== ctx.shape(b).length) {
    // TensorFlow aligns shapes from the right, so the shorter one's batch would meet a sample axis.
    ctx.fail(`operands of per-sample ranks ${ctx.shape(a).length} and ${ctx.shape(b).length}`);
  }
  return [ctx.operand(a, partner), ctx.operand(b, partner)];
}

function binary(name: string) {
  return (ctx: Context): Computed => {
    if (name === 'BiasAdd') ctx.attrs.requireChannelsLast();
    const [a, b] = operands(ctx, ctx.input(0), ctx.input(1));
    if (name === 'SquaredDifference') {
      const d = ctx.add({ kind: 'binary', fn: 'sub' }, [a, b]);
      return ctx.add({ kind: 'binary', fn: 'mul' }, [d, d]);
    }
    const fn = BINARY[name]!.fn ?? ctx.fail(`${name} on the model's input`);
    return ctx.add({ kind: 'binary', fn }, [a, b]);
  };
}

function addN(ctx: Context): Computed {
  let sum: Value = ctx.input(0);
  for (let i = 1; i < ctx.inputs.length; i++) {
    const [a, b] = operands(ctx, sum, ctx.input(i));
    sum = ctx.add({ kind: 'binary', fn: 'add' }, [a, b]);
  }
  return isKnown(sum) ? ctx.fail('AddN of constants only') : sum;
}

function clipByValue(ctx: Context): Computed {
  const x = ctx.computed(0);
  const lo = ctx.known(1, 'lower bound');
  const hi = ctx.known(2, 'upper bound');
  if (lo.size === 1 && hi.size === 1) return ctx.add({ kind: 'activation', activation: { fn: 'clip', min: lo.values[0]!, max: hi.values[0]! } }, [x]);
  const above = ctx.add({ kind: 'binary', fn: 'max' }, [x, ctx.operand(lo, x)]);
  return ctx.add({ kind: 'binary', fn: 'min' }, [above, ctx.operand(hi, x)]);
}

function softmax(ctx: Context): Computed {
  const x = ctx.computed(0);
  if (ctx.shape(x).length < 1) ctx.fail('softmax over the batch axis');
  return ctx.add({ kind: 'softmax' }, [x]);
}

const unaryOps = Object.fromEntries(
  [...Object.keys(UNARY).filter((n) => UNARY[n]!.activation), 'LeakyRelu', 'Prelu', 'Selu', 'Rsqrt', 'Square'].map((n) => [n, unary(n)]),
);
const binaryOps = Object.fromEntries(Object.keys(BINARY).map((n) => [n, binary(n)]));

export const ELEMENTWISE: Record<string, (ctx: Context) => Computed> = {
  ...unaryOps,
  ...binaryOps,
  AddN: addN,
  ClipByValue: clipByValue,
  Softmax: softmax,
};
