/** MaxPool, AveragePool, their global forms, and ReduceMean. */
import { explicitPads } from '../../shapes.js';
import { UnsupportedNode, type Padding } from '../../types.js';
import { slotValue, type ImportContext, type OnnxNode, type Rule, type Value } from '../context.js';
import { host, ints } from '../host-tensor.js';
import { normalizeAxis } from '../layout.js';
import { windowOf, type Window } from './window.js';

/**
 * ceil_mode as extra bottom/right padding: the last window may hang over the edge, but must
 * start inside the input or its leading pad (PyTorch's and onnxruntime's rule).
 */
function ceilPadding(window: Window, inHW: readonly [number, number]): { padding: Padding; extended: boolean } {
  const p = explicitPads(window.padding, inHW, window.size, window.strides);
  const before = [p[0], p[2]];
  const after = [p[1], p[3]];
  let extended = false;
  for (let a = 0; a < 2; a++) {
    const span = inHW[a]! + before[a]! + after[a]! - window.size[a]!;
    let out = Math.ceil(span / window.strides[a]!) + 1;
    if ((out - 1) * window.strides[a]! >= inHW[a]! + before[a]!) out--;
    const extra = Math.max(0, (out - 1) * window.strides[a]! + window.size[a]! - (inHW[a]! + before[a]! + after[a]!));
    if (extra > 0) extended = true;
    after[a] = after[a]! + extra;
  }
  return { padding: extended ? [before[0]!, after[0]!, before[1]!, after[1]!] : window.padding, extended };
}

function pool(kind: 'maxPool' | 'avgPool'): Rule {
  return (node, ctx) => {
    const x = ctx.permuted(ctx.slotInput(node, 0), node.source);
    const [h, w] = ctx.builder.shapeOf(x.slot) as [number, number, number];
    const window = windowOf(node, [h, w]);
    if (window.dilations[0] !== 1 || window.dilations[1] !== 1) throw new UnsupportedNode(node.source, `dilated pooling [${window.dilations.join(', ')}]`);
    let padding = window.padding;
    const countPads = node.attrs.int('count_include_pad', 0) === 1;
    if (node.attrs.int('ceil_mode', 0) === 1) {
      const ceil = ceilPadding(window, [h, w]);
      // Averages over a window cut by the ceil edge divide by what lies inside the padded input.
      if (ceil.extended && kind === 'avgPool' && countPads) throw new UnsupportedNode(node.source, 'ceil_mode with count_include_pad');
      padding = ceil.padding;
    }
    const base = { size: window.size, strides: window.strides };
    if (kind === 'maxPool') return slotValue(ctx.builder.add({ kind, ...base, padding }, [x.slot], node.source), true);
    if (!countPads || padding === 'valid') return slotValue(ctx.builder.add({ kind, ...base, padding, countPadding: false }, [x.slot], node.source), true);
    // count_include_pad averages over zeros that are really there: pad, then pool without padding.
    const [top, bottom, left, right] = explicitPads(padding, [h, w], window.size, window.strides);
    const padded = ctx.builder.add({ kind: 'pad', pads: [[top, bottom], [left, right], [0, 0]], value: 0 }, [x.slot], node.source);
    return slotValue(ctx.builder.add({ kind, ...base, padding: 'valid', countPadding: false }, [padded], node.source), true);
  };
}

function globalAverage(node: OnnxNode, ctx: ImportContext): Value {
  const x = ctx.permuted(ctx.slotInput(node, 0), node.source);
  return slotValue(ctx.builder.add({ kind: 'mean', axes: [0, 1], keepDims: true }, [x.slot], node.source), true);
}

function globalMax(node: OnnxNode, ctx: ImportContext): Value {
  const x = ctx.permuted(ctx.slotInput(node, 0), node.source);
  const [h, w] = ctx.builder.shapeOf(x.slot) as [number, number, number];
  return slotValue(ctx.builder.add({ kind: 'maxPool', size: [h, w], strides: [1, 1], padding: 'valid' }, [x.slot], node.source), true);
}

/** ReduceMean, and ReduceSum as the mean times the number of values averaged. */
function reduce(sum: boolean): Rule {
  return (node, ctx) => reduceOver(node, ctx, sum);
}

function reduceOver(node: OnnxNode, ctx: ImportContext, sum: boolean): Value {
  const x = ctx.slotInput(node, 0);
  const rank = ctx.rank(x);
  // ReduceSum took its axes as an input from opset 13, ReduceMean from opset 18.
  const listed = node.opset >= (sum ? 13 : 18) ? (node.inputs[1] ? ints(ctx.constInput(node, 1, 'axes')) : undefined) : node.attrs.ints('axes');
  if (!listed || listed.length === 0) {
    if (node.attrs.int('noop_with_empty_axes', 0) === 1) return x;
    throw new UnsupportedNode(node.source, 'reduces over every axis, the batch included');
  }
  const axes = [...new Set(listed.map((a) => normalizeAxis(a, rank)))].sort((a, b) => a - b);
  const stored = axes.map((a) => ctx.storedAxis(x, a, node.source));
  const keepDims = node.attrs.int('keepdims', 1) === 1;
  let slot = ctx.builder.add({ kind: 'mean', axes: stored, keepDims }, [x.slot], node.source);
  if (sum) {
    const count = axes.reduce((n, a) => n * ctx.onnxShape(x)[a]!, 1);
    const scale = ctx.builder.add({ kind: 'constant', value: ctx.weight(host('float', [], [count])) }, [], node.source);
    slot = ctx.builder.add({ kind: 'binary', fn: 'mul' }, [slot, scale], node.source);
  }
  if (keepDims) return slotValue(slot, x.permuted);
  // The remaining axes keep their stored order; put them back in ONNX order.
  const remaining = Array.from({ length: rank - 1 }, (_, i) => i + 1).filter((a) => !axes.includes(a));
  const positions = remaining.map((a) => ctx.storedAxis(x, a, node.source));
  const sorted = [...positions].sort((a, b) => a - b);
  const perm = positions.map((p) => sorted.indexOf(p));
  if (perm.every((p, i) => p === i)) return slotValue(slot, false);
  return slotValue(ctx.builder.add({ kind: 'transpose', perm }, [slot], node.source), false);
}

export const POOLING_RULES: Record<string, Rule> = {
  MaxPool: pool('maxPool'),
  AveragePool: pool('avgPool'),
  GlobalAveragePool: globalAverage,
  GlobalMaxPool: globalMax,
  ReduceMean: reduce(false),
  ReduceSum: reduce(true),
};
