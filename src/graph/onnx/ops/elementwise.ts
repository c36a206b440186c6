/**
 * Add, Sub, Mul, Div, Max, Min between model values and constants, with numpy broadcasting; the
 * variadic Sum, Max, Min and Mean as chains of them.
 */
import { UnsupportedNode, type BinaryFn } from '../../types.js';
import { slotValue, type ImportContext, type OnnxNode, type Rule, type Value } from '../context.js';
import { host, zipHost, type HostTensor } from '../host-tensor.js';

const HOST: Record<BinaryFn, (x: number, y: number) => number> = {
  add: (x, y) => x + y,
  sub: (x, y) => x - y,
  mul: (x, y) => x * y,
  div: (x, y) => x / y,
  max: Math.max,
  min: Math.min,
};

function pair(fn: BinaryFn, a: Value, b: Value, ctx: ImportContext, source: string): Value {
  const add = (x: number, y: number, permuted: boolean): Value => slotValue(ctx.builder.add({ kind: 'binary', fn }, [x, y], source), permuted);
  if (a.kind === 'slot' && b.kind === 'const') return add(a.slot, ctx.constantBeside(b.tensor, a, source), a.permuted);
  if (a.kind === 'const' && b.kind === 'slot') return add(ctx.constantBeside(a.tensor, b, source), b.slot, b.permuted);
  if (a.kind !== 'slot' || b.kind !== 'slot') throw new UnsupportedNode(source, 'constant operands should have been folded');
  const rank = ctx.rank(a);
  // Both operands carry the batch axis first, so only equal ranks broadcast without mixing it in.
  if (ctx.rank(b) !== rank) throw new UnsupportedNode(source, `operands of rank ${rank} and ${ctx.rank(b)}`);
  if (a.permuted === b.permuted) return add(a.slot, b.slot, a.permuted);
  return add(ctx.permuted(a, source).slot, ctx.permuted(b, source).slot, true);
}

function binary(fn: BinaryFn): Rule {
  return (node, ctx) => {
    if (node.inputs.length !== 2) throw new UnsupportedNode(node.source, `${node.inputs.length} operands (only 2)`);
    return pair(fn, ctx.input(node, 0), ctx.input(node, 1), ctx, node.source);
  };
}

/** Any number of operands: the known ones combined on the host first, then one node per operand. */
function variadic(fn: BinaryFn, mean = false): Rule {
  return (node, ctx) => {
    const operands = node.inputs.filter((v): v is Value => v !== null);
    let known: HostTensor | null = null;
    for (const v of operands) {
      if (v.kind !== 'const') continue;
      known = known ? zipHost(known, v.tensor, 'float', HOST[fn]) : v.tensor;
      if (!known) throw new UnsupportedNode(node.source, 'constant operands do not broadcast');
    }
    const slots = operands.filter((v) => v.kind === 'slot');
    if (slots.length === 0) throw new UnsupportedNode(node.source, 'constant operands should have been folded');
    let result: Value = slots[0]!;
    for (const v of slots.slice(1)) result = pair(fn, result, v, ctx, node.source);
    if (known) result = pair(fn, result, { kind: 'const', tensor: known }, ctx, node.source);
    if (mean && operands.length > 1) result = pair('mul', result, { kind: 'const', tensor: host('float', [], [1 / operands.length]) }, ctx, node.source);
    return result;
  };
}

export const ELEMENTWISE_RULES: Record<string, Rule> = {
  Add: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  Div: binary('div'),
  Max: variadic('max'),
  Min: variadic('min'),
  Sum: variadic('add'),
  Mean: variadic('add', true),
};
