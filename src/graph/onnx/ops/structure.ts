/**
 * Ops that move values around without arithmetic: Concat, Flatten, Reshape, Transpose, Squeeze,
 * Unsqueeze, Slice, Pad, and the pass-throughs (Identity, Dropout, Cast). On an image held NHWC
 * each computes what ONNX computes on NCHW, through ImportContext's layout-aware moves.
 */
import { UnsupportedNode } from '../../types.js';
import { constValue, slotValue, type ImportContext, type OnnxNode, type Rule, type Value } from '../context.js';
import { reshapeTarget, sliceArguments, sliceRanges, squeezeShape, unsqueezeShape } from '../fold.js';
import { host, ints, sizeOf, type HostTensor } from '../host-tensor.js';
import { normalizeAxis } from '../layout.js';
import { onnx } from '../proto.js';

function concat(node: OnnxNode, ctx: ImportContext): Value {
  const parts = node.inputs.filter((v): v is Value => v !== null);
  if (parts.some((p) => p.kind !== 'slot')) throw new UnsupportedNode(node.source, 'concatenates a constant with model values');
  let slots = parts as (Value & { kind: 'slot' })[];
  const rank = ctx.rank(slots[0]!);
  if (slots.some((s) => ctx.rank(s) !== rank)) throw new UnsupportedNode(node.source, 'concatenates values of different ranks');
  if (rank === 4 && slots.some((s) => s.permuted)) slots = slots.map((s) => ctx.permuted(s, node.source));
  const axis = ctx.storedAxis(slots[0]!, normalizeAxis(node.attrs.int('axis', 0), rank), node.source);
  if (slots.length === 1) return slots[0]!;
  return slotValue(ctx.builder.add({ kind: 'concat', axis }, slots.map((s) => s.slot), node.source), slots[0]!.permuted);
}

function flatten(node: OnnxNode, ctx: ImportContext): Value {
  const x = ctx.slotInput(node, 0);
  const shape = ctx.onnxShape(x);
  const axis = normalizeAxis(node.attrs.int('axis', 1), shape.length);
  if (axis !== 1) throw new UnsupportedNode(node.source, `flattens from axis ${axis}, which merges the batch axis with others`);
  return ctx.reshape(x, [sizeOf(shape.slice(1))], node.source);
}

function reshape(node: OnnxNode, ctx: ImportContext): Value {
  const x = ctx.slotInput(node, 0);
  const from = ctx.onnxShape(x).slice(1);
  const target = node.opset >= 5 ? ints(ctx.constInput(node, 1, 'shape')) : (node.attrs.ints('shape') ?? []);
  const batch = target[0];
  // The first entry is the batch: the folded batch size (NaN), −1, 0 (copy), or the fixed batch
  // size of an export without a dynamic batch axis.
  if (target.length === 0 || !(batch === undefined || Number.isNaN(batch) || batch === -1 || batch === 0 || batch >= 1)) {
    throw new UnsupportedNode(node.source, `reshape to [${target.join(', ')}] does not keep the batch axis first`);
  }
  const rest = target.slice(1);
  if (batch === -1 && rest.includes(-1)) throw new UnsupportedNode(node.source, `reshape to [${target.join(', ')}] leaves the batch size undetermined`);
  const allowZero = node.attrs.int('allowzero', 0) === 1;
  const perSample = reshapeTarget(node.source, from, rest.map((d, i) => (d === 0 && !allowZero ? from[i]! : d)), allowZero);
  return ctx.reshape(x, perSample, node.source);
}

function transpose(node: OnnxNode, ctx: ImportContext): Value {
  const x = ctx.slotInput(node, 0);
  const rank = ctx.rank(x);
  const perm = node.attrs.ints('perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  return ctx.transpose(x, perm, node.source);
}

function axesOf(node: OnnxNode, ctx: ImportContext): number[] | undefined {
  if (node.opset >= 13) return node.inputs[1] ? ints(ctx.constInput(node, 1, 'axes')) : undefined;
  return node.attrs.ints('axes');
}

function squeeze(node: OnnxNode, ctx: ImportContext): Value {
  const x = ctx.slotInput(node, 0);
  const shape = ctx.onnxShape(x);
  const axes = axesOf(node, ctx);
  if (axes?.some((a) => normalizeAxis(a, shape.length) === 0)) throw new UnsupportedNode(node.source, 'squeezes the batch axis');
  return ctx.reshape(x, squeezeShape(node, shape, axes).slice(1), node.source);
}

function unsqueeze(node: OnnxNode, ctx: ImportContext): Value {
  const x = ctx.slotInput(node, 0);
  const shape = ctx.onnxShape(x);
  const axes = axesOf(node, ctx);
  if (!axes) throw new UnsupportedNode(node.source, 'has no axes');
  const out = unsqueezeShape(shape, axes);
  if (!Number.isNaN(out[0])) throw new UnsupportedNode(node.source, 'inserts an axis before the batch axis');
  return ctx.reshape(x, out.slice(1), node.source);
}

function slice(node: OnnxNode, ctx: ImportContext): Value {
  const x = ctx.slotInput(node, 0);
  const known = node.inputs.map((v) => (v?.kind === 'const' ? v.tensor : null));
  const args = sliceArguments(node, known);
  const shape = ctx.onnxShape(x);
  const rank = shape.length;
  if ((args.axes ?? args.starts.map((_, i) => i)).some((a) => normalizeAxis(a, rank) === 0)) throw new UnsupportedNode(node.source, 'slices the batch axis');
  if (args.steps?.some((s) => s !== 1)) throw new UnsupportedNode(node.source, `steps [${args.steps.join(', ')}] (only 1)`);
  const ranges = sliceRanges([1, ...shape.slice(1)], args.starts, args.ends, args.axes, args.steps);
  const stored = ctx.builder.shapeOf(x.slot);
  const begin = new Array<number>(stored.length).fill(0);
  const size = [...stored];
  for (let a = 1; a < rank; a++) {
    const s = ctx.storedAxis(x, a, node.source);
    begin[s] = ranges[a]![0];
    size[s] = Math.max(0, ranges[a]![1] - ranges[a]![0]);
  }
  if (size.some((d) => d === 0)) throw new UnsupportedNode(node.source, 'slices to an empty value');
  if (size.every((d, i) => d === stored[i])) return x;
  return slotValue(ctx.builder.add({ kind: 'slice', begin, size }, [x.slot], node.source), x.permuted);
}

/** Split: consecutive slices along one axis; sizes given, or equal parts. */
function split(node: OnnxNode, ctx: ImportContext): Value[] {
  const x = ctx.slotInput(node, 0);
  const shape = ctx.onnxShape(x);
  const axis = normalizeAxis(node.attrs.int('axis', 0), shape.length);
  const stored = ctx.storedAxis(x, axis, node.source);
  const length = shape[axis]!;
  const given = node.opset >= 13 ? (node.inputs[1] ? ints(ctx.constInput(node, 1, 'split')) : undefined) : node.attrs.ints('split');
  const count = node.outputs.length;
  const sizes = given ?? Array.from({ length: count }, (_, k) => Math.min(Math.ceil(length / count), length - k * Math.ceil(length / count)));
  if (sizes.length !== count || sizes.reduce((a, b) => a + b, 0) !== length || sizes.some((d) => d <= 0)) {
    throw new UnsupportedNode(node.source, `splits an axis of length ${length} into [${sizes.join(', ')}]`);
  }
  const full = ctx.builder.shapeOf(x.slot);
  let begin = 0;
  return sizes.map((d) => {
    const at = full.map((_, i) => (i === stored ? begin : 0));
    const size = full.map((n, i) => (i === stored ? d : n));
    begin += d;
    return slotValue(ctx.builder.add({ kind: 'slice', begin: at, size }, [x.slot], node.source), x.permuted);
  });
}

function pad(node: OnnxNode, ctx: ImportContext): Value {
  const x = ctx.slotInput(node, 0);
  const mode = node.attrs.string('mode', 'constant');
  if (mode !== 'constant') throw new UnsupportedNode(node.source, `mode ${JSON.stringify(mode)} (only 'constant')`);
  const rank = ctx.rank(x);
  let pads: number[];
  let value = 0;
  let axes = Array.from({ length: rank }, (_, i) => i);
  if (node.opset >= 11) {
    pads = ints(ctx.constInput(node, 1, 'pads'));
    const v = ctx.optionalConst(node, 2, 'constant_value');
    if (v) value = v.data[0]!;
    const listed = ctx.optionalConst(node, 3, 'axes');
    if (listed) axes = ints(listed).map((a) => normalizeAxis(a, rank));
  } else {
    pads = node.attrs.ints('pads') ?? node.attrs.ints('paddings') ?? [];
    value = node.attrs.float('value', 0);
  }
  if (pads.length !== 2 * axes.length) throw new UnsupportedNode(node.source, `${pads.length} pads for ${axes.length} axes`);
  if (pads.some((p) => p < 0)) throw new UnsupportedNode(node.source, `negative pads [${pads.join(', ')}] (cropping)`);
  const stored = ctx.builder.shapeOf(x.slot).map((): [number, number] => [0, 0]);
  axes.forEach((a, k) => {
    const before = pads[k]!;
    const after = pads[k + axes.length]!;
    if (before === 0 && after === 0) return;
    stored[ctx.storedAxis(x, a, node.source)] = [before, after];
  });
  if (stored.every(([b, a]) => b === 0 && a === 0)) return x;
  return slotValue(ctx.builder.add({ kind: 'pad', pads: stored, value }, [x.slot], node.source), x.permuted);
}

function softmax(node: OnnxNode, ctx: ImportContext): Value {
  const x = ctx.slotInput(node, 0);
  const rank = ctx.rank(x);
  const axis = normalizeAxis(node.attrs.int('axis', node.opset >= 13 ? -1 : 1), rank);
  // Before opset 13, Softmax flattened everything from `axis` on; that is the last axis only here.
  const lastStored = rank - 2;
  if ((node.opset < 13 && axis !== rank - 1) || ctx.storedAxis(x, axis, node.source) !== lastStored) {
    throw new UnsupportedNode(node.source, `softmax over axis ${axis} of a rank-${rank} value (only the class axis)`);
  }
  return slotValue(ctx.builder.add({ kind: 'softmax' }, [x.slot], node.source), x.permuted);
}

const FLOATS = new Set<number>([onnx.TensorProto.DataType.FLOAT, onnx.TensorProto.DataType.DOUBLE, onnx.TensorProto.DataType.FLOAT16, onnx.TensorProto.DataType.BFLOAT16]);

function cast(node: OnnxNode, ctx: ImportContext): Value {
  const to = node.attrs.int('to', 0);
  if (!FLOATS.has(to)) throw new UnsupportedNode(node.source, `casts a model value to element type ${to} (only float types)`);
  return ctx.slotInput(node, 0);
}

/** Shape of a model value: known at import time except for the batch size (NaN). */
function shapeOf(node: OnnxNode, ctx: ImportContext): Value {
  const shape = ctx.onnxShape(ctx.input(node, 0));
  const start = normalizeAxis(node.attrs.int('start', 0), shape.length);
  const end = node.attrs.has('end') ? normalizeAxis(node.attrs.int('end', shape.length), shape.length) : shape.length;
  const picked = shape.slice(Math.max(0, start), Math.min(shape.length, end));
  return constValue(host('int', [picked.length], picked));
}

function constant(node: OnnxNode): Value {
  const a = node.attrs;
  const t = a.tensor('value');
  if (t) return constValue(t);
  if (a.has('value_float')) return constValue(host('float', [], [a.float('value_float', 0)]));
  if (a.has('value_floats')) return constValue(floats(a.floats('value_floats')!));
  if (a.has('value_int')) return constValue(host('int', [], [a.int('value_int', 0)]));
  if (a.has('value_ints')) return constValue(host('int', [a.ints('value_ints')!.length], a.ints('value_ints')!));
  throw new UnsupportedNode(node.source, `a Constant with attribute ${a.names().join(', ') || '(none)'} (only numeric values)`);
}

function floats(values: number[]): HostTensor {
  return host('float', [values.length], values);
}

const passThrough: Rule = (node, ctx) => ctx.input(node, 0);

export const STRUCTURE_RULES: Record<string, Rule> = {
  Concat: concat,
  Flatten: flatten,
  Reshape: reshape,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Slice: slice,
  Pad: pad,
  Split: split,
  Softmax: softmax,
  Identity: passThrough,
  Dropout: passThrough,
  Cast: cast,
  Shape: shapeOf,
  Constant: constant,
};
