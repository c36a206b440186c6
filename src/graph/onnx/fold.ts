/**
 * Ops evaluated at import time when every input is known: the shape arithmetic PyTorch exports
 * emit around a flatten (Shape → Gather → Unsqueeze → Concat → Reshape) and constant weight
 * preprocessing (Cast, Transpose, arithmetic). The batch size flows through as NaN (BATCH).
 */
import { UnsupportedNode } from '../types.js';
import type { Attributes } from './attributes.js';
import { host, ints, sizeOf, stridesOf, transposeHost, zipHost, type HostTensor } from './host-tensor.js';
import { normalizeAxis } from './layout.js';
import { onnx } from './proto.js';

export interface FoldNode {
  readonly opType: string;
  readonly source: string;
  readonly attrs: Attributes;
  readonly opset: number;
}

type Fold = (node: FoldNode, inputs: readonly (HostTensor | null)[]) => HostTensor;

const T = onnx.TensorProto.DataType;

function need(node: FoldNode, inputs: readonly (HostTensor | null)[], index: number): HostTensor {
  const t = inputs[index];
  if (!t) throw new UnsupportedNode(node.source, `has no input ${index}`);
  return t;
}

function withShape(t: HostTensor, shape: readonly number[]): HostTensor {
  return { dtype: t.dtype, shape: [...shape], data: t.data };
}

/** Axes of Squeeze/Unsqueeze/Reduce*: an input from `sinceOpset`, an attribute before. */
export function axesArgument(node: FoldNode, inputs: readonly (unknown | null)[], index: number, sinceOpset: number, read: (v: unknown) => number[] | undefined): number[] | undefined {
  if (node.opset >= sinceOpset) {
    const v = inputs[index];
    return v ? read(v) : undefined;
  }
  return node.attrs.ints('axes');
}

export function squeezeShape(node: FoldNode, shape: readonly number[], axes: readonly number[] | undefined): number[] {
  if (!axes || axes.length === 0) return shape.filter((d) => d !== 1);
  const drop = new Set(axes.map((a) => normalizeAxis(a, shape.length)));
  for (const a of drop) if (shape[a] !== 1) throw new UnsupportedNode(node.source, `squeezes axis ${a} of length ${shape[a]}`);
  return shape.filter((_, i) => !drop.has(i));
}

export function unsqueezeShape(shape: readonly number[], axes: readonly number[]): number[] {
  const rank = shape.length + axes.length;
  const at = new Set(axes.map((a) => normalizeAxis(a, rank)));
  const out: number[] = [];
  let next = 0;
  for (let i = 0; i < rank; i++) out.push(at.has(i) ? 1 : shape[next++]!);
  return out;
}

/** Reshape's target with 0 (copy, unless allowzero) and −1 resolved against `from`. */
export function reshapeTarget(source: string, from: readonly number[], target: readonly number[], allowZero: boolean): number[] {
  const resolved = target.map((d, i) => (d === 0 && !allowZero ? from[i]! : d));
  const free = resolved.filter((d) => d === -1).length;
  const known = sizeOf(resolved.filter((d) => d !== -1));
  const total = sizeOf(from);
  if (free > 1 || (free === 1 && (known === 0 || total % known !== 0)) || (free === 0 && known !== total)) {
    throw new UnsupportedNode(source, `cannot reshape [${from.join(', ')}] to [${target.join(', ')}]`);
  }
  return resolved.map((d) => (d === -1 ? total / known : d));
}

function gather(node: FoldNode, data: HostTensor, indices: HostTensor): HostTensor {
  const axis = normalizeAxis(node.attrs.int('axis', 0), data.shape.length);
  const n = data.shape[axis]!;
  const outer = sizeOf(data.shape.slice(0, axis));
  const inner = sizeOf(data.shape.slice(axis + 1));
  const picks = ints(indices).map((i) => (i < 0 ? i + n : i));
  const values: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of picks) {
      if (!(p >= 0 && p < n)) throw new UnsupportedNode(node.source, `gathers index ${p} of an axis of length ${n}`);
      for (let i = 0; i < inner; i++) values.push(data.data[(o * n + p) * inner + i]!);
    }
  }
  return host(data.dtype, [...data.shape.slice(0, axis), ...indices.shape, ...data.shape.slice(axis + 1)], values);
}

function concat(node: FoldNode, parts: readonly HostTensor[]): HostTensor {
  const first = parts[0]!;
  const axis = normalizeAxis(node.attrs.int('axis', 0), first.shape.length);
  const outer = sizeOf(first.shape.slice(0, axis));
  const values: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const chunk = sizeOf(p.shape.slice(axis));
      for (let i = 0; i < chunk; i++) values.push(p.data[o * chunk + i]!);
    }
  }
  const shape = [...first.shape];
  shape[axis] = parts.reduce((total, p) => total + p.shape[axis]!, 0);
  const dtype = parts.some((p) => p.dtype === 'float') ? 'float' : first.dtype;
  return host(dtype, shape, values);
}

/** Per-axis [start, stop, step] of an ONNX Slice, clamped as numpy does. */
export function sliceRanges(shape: readonly number[], starts: readonly number[], ends: readonly number[], axes: readonly number[] | undefined, steps: readonly number[] | undefined): [number, number, number][] {
  const ranges = shape.map((d): [number, number, number] => [0, d, 1]);
  starts.forEach((s, k) => {
    const axis = normalizeAxis(axes?.[k] ?? k, shape.length);
    const d = shape[axis]!;
    const step = steps?.[k] ?? 1;
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    let start = s < 0 ? s + d : s;
    let end = ends[k]! < 0 ? ends[k]! + d : ends[k]!;
    start = step > 0 ? clamp(start, 0, d) : clamp(start, 0, d - 1);
    end = step > 0 ? clamp(end, 0, d) : clamp(end, -1, d - 1);
    ranges[axis] = [start, end, step];
  });
  return ranges;
}

export function sliceArguments(node: FoldNode, inputs: readonly (HostTensor | null)[]): { starts: number[]; ends: number[]; axes?: number[]; steps?: number[] } {
  if (node.opset < 10) {
    return { starts: node.attrs.ints('starts') ?? [], ends: node.attrs.ints('ends') ?? [], axes: node.attrs.ints('axes') };
  }
  const opt = (i: number) => (inputs[i] ? ints(inputs[i]!) : undefined);
  return { starts: ints(need(node, inputs, 1)), ends: ints(need(node, inputs, 2)), axes: opt(3), steps: opt(4) };
}

function slice(node: FoldNode, inputs: readonly (HostTensor | null)[]): HostTensor {
  const data = need(node, inputs, 0);
  const { starts, ends, axes, steps } = sliceArguments(node, inputs);
  const ranges = sliceRanges(data.shape, starts, ends, axes, steps);
  const shape = ranges.map(([a, b, s]) => Math.max(0, Math.ceil((b - a) / s)));
  const strides = stridesOf(data.shape);
  const values: number[] = [];
  const index = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < sizeOf(shape); o++) {
    let at = 0;
    for (let a = 0; a < shape.length; a++) at += (ranges[a]![0] + index[a]! * ranges[a]![2]) * strides[a]!;
    values.push(data.data[at]!);
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++index[a]! < shape[a]!) break;
      index[a] = 0;
    }
  }
  return host(data.dtype, shape, values);
}

function arithmetic(f: (x: number, y: number) => number, intF?: (x: number, y: number) => number): Fold {
  return (node, inputs) => {
    const a = need(node, inputs, 0);
    const b = need(node, inputs, 1);
    const dtype = a.dtype === 'float' || b.dtype === 'float' ? 'float' : 'int';
    const out = zipHost(a, b, dtype, dtype === 'int' && intF ? intF : f);
    if (!out) throw new UnsupportedNode(node.source, `cannot broadcast [${a.shape.join(', ')}] with [${b.shape.join(', ')}]`);
    return out;
  };
}

function unary(f: (x: number) => number): Fold {
  return (node, inputs) => {
    const a = need(node, inputs, 0);
    return host(a.dtype, a.shape, Array.from(a.data, f));
  };
}

function castTo(node: FoldNode, t: HostTensor): HostTensor {
  const to = node.attrs.int('to', T.FLOAT);
  if (to === T.FLOAT || to === T.DOUBLE || to === T.FLOAT16 || to === T.BFLOAT16) return host('float', t.shape, t.data);
  if (to === T.BOOL) return host('bool', t.shape, Array.from(t.data, (v) => (v !== 0 ? 1 : 0)));
  return host('int', t.shape, Array.from(t.data, (v) => Math.trunc(v)));
}

export const FOLDS: Record<string, Fold> = {
  Identity: (node, inputs) => need(node, inputs, 0),
  Dropout: (node, inputs) => need(node, inputs, 0),
  Cast: (node, inputs) => castTo(node, need(node, inputs, 0)),
  Gather: (node, inputs) => gather(node, need(node, inputs, 0), need(node, inputs, 1)),
  Concat: (node, inputs) => concat(node, inputs.filter((t): t is HostTensor => t !== null)),
  Slice: slice,
  Transpose: (node, inputs) => {
    const t = need(node, inputs, 0);
    const perm = node.attrs.ints('perm') ?? t.shape.map((_, i) => t.shape.length - 1 - i);
    return transposeHost(t, perm);
  },
  Reshape: (node, inputs) => {
    const t = need(node, inputs, 0);
    const target = node.opset >= 5 ? ints(need(node, inputs, 1)) : (node.attrs.ints('shape') ?? []);
    return withShape(t, reshapeTarget(node.source, t.shape, target, node.attrs.int('allowzero', 0) === 1));
  },
  Flatten: (node, inputs) => {
    const t = need(node, inputs, 0);
    const axis = normalizeAxis(node.attrs.int('axis', 1), t.shape.length);
    return withShape(t, [sizeOf(t.shape.slice(0, axis)), sizeOf(t.shape.slice(axis))]);
  },
  Squeeze: (node, inputs) => {
    const t = need(node, inputs, 0);
    return withShape(t, squeezeShape(node, t.shape, axesArgument(node, inputs, 1, 13, (v) => ints(v as HostTensor))));
  },
  Unsqueeze: (node, inputs) => {
    const t = need(node, inputs, 0);
    const axes = axesArgument(node, inputs, 1, 13, (v) => ints(v as HostTensor));
    if (!axes) throw new UnsupportedNode(node.source, 'has no axes');
    return withShape(t, unsqueezeShape(t.shape, axes));
  },
  Add: arithmetic((x, y) => x + y),
  Sub: arithmetic((x, y) => x - y),
  Mul: arithmetic((x, y) => x * y),
  Div: arithmetic((x, y) => x / y, (x, y) => Math.trunc(x / y)),
  Max: arithmetic(Math.max),
  Min: arithmetic(Math.min),
  Neg: unary((x) => -x),
  Sqrt: unary(Math.sqrt),
  Reciprocal: unary((x) => 1 / x),
  Equal: (node, inputs) => ({ ...arithmetic((x, y) => (x === y ? 1 : 0))(node, inputs), dtype: 'bool' }),
  Where: (node, inputs) => {
    const cond = need(node, inputs, 0);
    const x = need(node, inputs, 1);
    const y = need(node, inputs, 2);
    const dtype = x.dtype === 'float' || y.dtype === 'float' ? 'float' : x.dtype;
    // Masked sums rather than a sentinel, so NaN (the batch size) can be chosen or dropped.
    const fromX = zipHost(cond, x, dtype, (c, v) => (c ? v : 0));
    const fromY = zipHost(cond, y, dtype, (c, v) => (c ? 0 : v));
    const out = fromX && fromY && zipHost(fromX, fromY, dtype, (a, b) => a + b);
    if (!out) throw new UnsupportedNode(node.source, 'operands do not broadcast');
    return out;
  },
  ConstantOfShape: (node, inputs) => {
    const shape = ints(need(node, inputs, 0));
    const value = node.attrs.tensor('value') ?? host('float', [1], [0]);
    return host(value.dtype, shape, new Array<number>(sizeOf(shape)).fill(value.data[0]!));
  },
  Shape: (node, inputs) => {
    const t = need(node, inputs, 0);
    return host('int', [t.shape.length], t.shape);
  },
};

