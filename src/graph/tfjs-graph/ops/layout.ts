/**
 * Ops that move values around without arithmetic: reshapes, transposes, slices, padding and
 * concatenation of computed values. Their shape operands must be known at import (folded), and
 * they must leave the batch axis where it is.
 */
import type { Context } from '../context.js';
import { resolveShape } from '../fold.js';
import { masksOf } from '../fold.js';
import { resolveStridedSlice } from '../strided-slice.js';
import { isKnown, type Computed } from '../values.js';

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function reshapeTo(ctx: Context, x: Computed, shape: readonly number[]): Computed {
  return same(ctx.shape(x), shape) ? x : ctx.add({ kind: 'reshape', shape }, [x]);
}

function reshape(ctx: Context): Computed {
  const x = ctx.computed(0);
  const target = ctx.known(1, 'shape').list();
  const rest = target.slice(1);
  const size = ctx.shape(x).reduce((a, b) => a * b, 1);
  const lead = target[0];
  if (lead === undefined || !(Number.isNaN(lead) || lead === -1)) ctx.fail(`a target shape [${target.join(', ')}] that fixes the batch size`);
  if (rest.some(Number.isNaN)) ctx.fail(`a target shape that uses the batch size beyond its first axis`);
  if (lead === -1 && rest.includes(-1)) ctx.fail(`a target shape [${target.join(', ')}] with two unknown axes`);
  return reshapeTo(ctx, x, resolveShape(rest, size, ctx.source));
}

function squeeze(ctx: Context): Computed {
  const x = ctx.computed(0);
  const shape = ctx.shape(x);
  const listed = ctx.attrs.ints('squeeze_dims', ctx.attrs.ints('axis', [])).map((a) => ctx.sampleAxis(a, x));
  for (const a of listed) if (shape[a] !== 1) ctx.fail(`squeezing axis ${a + 1} of length ${shape[a]}`);
  return reshapeTo(ctx, x, shape.filter((d, i) => (listed.length ? !listed.includes(i) : d !== 1)));
}

function expandDims(ctx: Context): Computed {
  const x = ctx.computed(0);
  const shape = [...ctx.shape(x)];
  const axis = ctx.known(1, 'axis').values[0]!;
  const full = axis < 0 ? axis + shape.length + 2 : axis;
  if (full < 1 || full > shape.length + 1) ctx.fail(`axis ${axis} (only axes after the batch)`);
  shape.splice(full - 1, 0, 1);
  return reshapeTo(ctx, x, shape);
}

function transpose(ctx: Context): Computed {
  const x = ctx.computed(0);
  const perm = ctx.known(1, 'permutation').list();
  if (perm[0] !== 0 || perm.length !== ctx.shape(x).length + 1) ctx.fail(`permutation [${perm.join(', ')}] (the batch axis must stay first)`);
  const sample = perm.slice(1).map((p) => p - 1);
  return sample.every((p, i) => p === i) ? x : ctx.add({ kind: 'transpose', perm: sample }, [x]);
}

function sliceNode(ctx: Context, x: Computed, begin: number[], size: number[]): Computed {
  const shape = ctx.shape(x);
  return begin.every((b, i) => b === 0 && size[i] === shape[i]) ? x : ctx.add({ kind: 'slice', begin, size }, [x]);
}

function stridedSlice(ctx: Context): Computed {
  const x = ctx.computed(0);
  let spec;
  try {
    spec = resolveStridedSlice([Number.NaN, ...ctx.shape(x)], ctx.known(1, 'begin').list(), ctx.known(2, 'end').list(), ctx.known(3, 'strides').list(), masksOf(ctx.attrs));
  } catch (e) {
    return ctx.fail((e as Error).message);
  }
  if (!Number.isNaN(spec.shape[0]!)) ctx.fail('a new axis before the batch axis');
  const ranges = spec.ranges.slice(1);
  if (ranges.some((r) => r.stride !== 1)) ctx.fail('a stride other than 1 on the model\'s input');
  const sliced = sliceNode(ctx, x, ranges.map((r) => r.begin), ranges.map((r) => r.size));
  return reshapeTo(ctx, sliced, spec.shape.slice(1));
}

function slice(ctx: Context): Computed {
  const x = ctx.computed(0);
  const shape = ctx.shape(x);
  const begin = ctx.known(1, 'begin').list();
  const size = ctx.known(2, 'size').list();
  if (begin[0] !== 0 || size[0] !== -1) ctx.fail(`begin [${begin.join(', ')}] and size [${size.join(', ')}] cut the batch axis`);
  const b = begin.slice(1);
  const s = size.slice(1).map((n, i) => (n < 0 ? shape[i]! - b[i]! : n));
  if (b.some((v, i) => v < 0 || v + s[i]! > shape[i]!)) ctx.fail(`begin [${begin.join(', ')}] and size [${size.join(', ')}] out of range`);
  return sliceNode(ctx, x, b, s);
}

function pad(ctx: Context): Computed {
  const x = ctx.computed(0);
  const p = ctx.known(1, 'paddings').list();
  if (p.length !== 2 * (ctx.shape(x).length + 1)) ctx.fail(`paddings for ${p.length / 2} axes on a rank-${ctx.shape(x).length + 1} input`);
  if (p[0] || p[1]) ctx.fail('padding of the batch axis');
  const value = ctx.node.op === 'PadV2' ? ctx.known(2, 'constant value').values[0]! : 0;
  const pads = ctx.shape(x).map((_, i) => [p[2 * i + 2]!, p[2 * i + 3]!] as const);
  return pads.every(([a, b]) => a === 0 && b === 0) ? x : ctx.add({ kind: 'pad', pads, value }, [x]);
}

function concatenate(ctx: Context, values: readonly Computed[], axis: number): Computed {
  const a = ctx.sampleAxis(axis, values[0]!);
  return values.length === 1 ? values[0]! : ctx.add({ kind: 'concat', axis: a }, values);
}

function concatV2(ctx: Context): Computed {
  const n = ctx.inputs.length - 1;
  const axis = ctx.known(n, 'axis').values[0]!;
  return concatenate(ctx, ctx.inputs.slice(0, n).map((_, i) => ctx.computed(i)), axis);
}

function pack(ctx: Context): Computed {
  const values = ctx.inputs.map((_, i) => ctx.computed(i));
  const shape = ctx.shape(values[0]!);
  const axis = ctx.attrs.int('axis', 0);
  const full = axis < 0 ? axis + shape.length + 2 : axis;
  if (full < 1 || full > shape.length + 1) ctx.fail(`stacking along axis ${axis} (only axes after the batch)`);
  const expanded = [...shape];
  expanded.splice(full - 1, 0, 1);
  return concatenate(ctx, values.map((v) => reshapeTo(ctx, v, expanded)), full);
}

/** Consecutive pieces of a computed value along a sample axis, one slice node each. */
function pieces(ctx: Context, x: Computed, axis: number, sizes: readonly number[]): Computed[] {
  const shape = ctx.shape(x);
  let offset = 0;
  return sizes.map((size) => {
    const begin = shape.map((_, i) => (i === axis ? offset : 0));
    const extent = shape.map((d, i) => (i === axis ? size : d));
    offset += size;
    return sliceNode(ctx, x, begin, extent);
  });
}

function split(ctx: Context): Computed[] {
  const x = ctx.computed(1);
  const axis = ctx.sampleAxis(ctx.known(0, 'axis').values[0]!, x);
  const count = ctx.attrs.int('num_split', 1);
  const length = ctx.shape(x)[axis]!;
  if (length % count !== 0) ctx.fail(`splitting ${length} values into ${count} equal parts`);
  return pieces(ctx, x, axis, new Array<number>(count).fill(length / count));
}

function splitV(ctx: Context): Computed[] {
  const x = ctx.computed(0);
  const axis = ctx.sampleAxis(ctx.known(2, 'axis').values[0]!, x);
  const length = ctx.shape(x)[axis]!;
  const sizes = ctx.known(1, 'size_splits').list();
  const free = sizes.filter((s) => s === -1).length;
  const known = sizes.filter((s) => s !== -1).reduce((a, b) => a + b, 0);
  if (free > 1 || (free === 0 && known !== length) || known > length) ctx.fail(`size_splits [${sizes.join(', ')}] for an axis of ${length}`);
  return pieces(ctx, x, axis, sizes.map((s) => (s === -1 ? length - known : s)));
}

function unpack(ctx: Context): Computed[] {
  const x = ctx.computed(0);
  const axis = ctx.sampleAxis(ctx.attrs.int('axis', 0), x);
  const shape = ctx.shape(x);
  const rest = shape.filter((_, i) => i !== axis);
  return pieces(ctx, x, axis, new Array<number>(shape[axis]!).fill(1)).map((p) => reshapeTo(ctx, p, rest));
}

/**
 * Identity-like ops. StopGradient and PreventGradient only change what TensorFlow trains; the
 * function being attacked is the same, so its gradient here is that function's.
 */
function passThrough(ctx: Context): Computed {
  const x = ctx.input(0);
  if (isKnown(x)) return ctx.fail('a constant where the model\'s input was expected');
  if (ctx.node.op === 'Cast' && ctx.attrs.dtype('DstT') !== 'float32') ctx.fail(`a cast of the model's values to ${ctx.attrs.dtype('DstT') ?? 'another type'}`);
  return x;
}

export const LAYOUT = {
  Reshape: reshape,
  Squeeze: squeeze,
  ExpandDims: expandDims,
  Transpose: transpose,
  StridedSlice: stridedSlice,
  Slice: slice,
  Pad: pad,
  PadV2: pad,
  ConcatV2: concatV2,
  Pack: pack,
  Split: split,
  SplitV: splitV,
  Unpack: unpack,
  Identity: passThrough,
  Snapshot: passThrough,
  StopGradient: passThrough,
  PreventGradient: passThrough,
  PlaceholderWithDefault: passThrough,
  Cast: passThrough,
};
