/** Add, Sub, Mul, Div, Max, Min between model values and constants, with numpy broadcasting. */
import { UnsupportedNode, type BinaryFn } from '../../types.js';
import { slotValue, type ImportContext, type OnnxNode, type Rule, type Value } from '../context.js';

function binary(fn: BinaryFn): Rule {
  return (node, ctx) => {
    if (node.inputs.length !== 2) throw new UnsupportedNode(node.source, `${node.inputs.length} operands (only 2)`);
    const a = ctx.input(node, 0);
    const b = ctx.input(node, 1);
    const add = (x: number, y: number, permuted: boolean): Value => slotValue(ctx.builder.add({ kind: 'binary', fn }, [x, y], node.source), permuted);
    if (a.kind === 'slot' && b.kind === 'const') return add(a.slot, ctx.constantBeside(b.tensor, a, node.source), a.permuted);
    if (a.kind === 'const' && b.kind === 'slot') return add(ctx.constantBeside(a.tensor, b, node.source), b.slot, b.permuted);
    if (a.kind !== 'slot' || b.kind !== 'slot') throw new UnsupportedNode(node.source, 'constant operands should have been folded');
    const rank = ctx.rank(a);
    // Both operands carry the batch axis first, so only equal ranks broadcast without mixing it in.
    if (ctx.rank(b) !== rank) throw new UnsupportedNode(node.source, `operands of rank ${rank} and ${ctx.rank(b)}`);
    if (a.permuted === b.permuted) return add(a.slot, b.slot, a.permuted);
    return add(ctx.permuted(a, node.source).slot, ctx.permuted(b, node.source).slot, true);
  };
}

export const ELEMENTWISE_RULES: Record<string, Rule> = {
  Add: binary('add'),
  Sub: binary('sub'),
  Mul: binary('mul'),
  Div: binary('div'),
  Max: binary('max'),
  Min: binary('min'),
  Sum: binary('add'),
};
