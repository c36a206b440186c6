/**
 * Constant folding: ops whose inputs are all known are computed at import, on the host, so the
 * graph keeps only what depends on the model's input. This is what removes the shape plumbing
 * of converted graphs (Shape → StridedSlice → Pack → Reshape) and precomputed arithmetic on
 * weights (Rsqrt of a variance, a scale times a filter).
 */
import { UnsupportedNode } from '../types.js';
import { BINARY, UNARY } from './elementwise.js';
import { Attrs, describe, type NodeDef } from './graphdef.js';
import { resolveStridedSlice } from './strided-slice.js';
import { Known, stridesOf, type KnownDtype } from './values.js';

type Fold = (inputs: Known[], attrs: Attrs, source: string) => Known | Known[];

/** Copies elements into a new shape: `from(i)` is the input offset of output offset i. */
function gathered(x: Known, shape: readonly number[], from: (offsets: number[]) => number): Known {
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Array<number>(size);
  const index = new Array<number>(shape.length).fill(0);
  const values = x.values;
  for (let i = 0; i < size; i++) {
    out[i] = values[from(index)]!;
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++index[a]! < shape[a]!) break;
      index[a] = 0;
    }
  }
  return Known.of(x.dtype, shape, out);
}

export function axisOf(axis: number, rank: number, source: string): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new UnsupportedNode(source, `axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** Numpy broadcasting of two known values through a scalar function. */
function broadcastFold(a: Known, b: Known, f: (x: number, y: number) => number, dtype: KnownDtype, source: string): Known {
  const rank = Math.max(a.shape.length, b.shape.length);
  const pad = (s: readonly number[]) => [...new Array<number>(rank - s.length).fill(1), ...s];
  const sa = pad(a.shape);
  const sb = pad(b.shape);
  const shape = sa.map((d, i) => {
    if (d !== sb[i] && d !== 1 && sb[i] !== 1) throw new UnsupportedNode(source, `cannot broadcast [${a.shape.join(', ')}] with [${b.shape.join(', ')}]`);
    return d === 1 ? sb[i]! : d;
  });
  const stA = stridesOf(sa).map((s, i) => (sa[i] === 1 ? 0 : s));
  const stB = stridesOf(sb).map((s, i) => (sb[i] === 1 ? 0 : s));
  const va = a.values;
  const vb = b.values;
  const size = shape.reduce((x, y) => x * y, 1);
  const out = new Array<number>(size);
  const index = new Array<number>(rank).fill(0);
  for (let i = 0; i < size; i++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < rank; d++) {
      ia += index[d]! * stA[d]!;
      ib += index[d]! * stB[d]!;
    }
    out[i] = f(va[ia]!, vb[ib]!);
    for (let d = rank - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return Known.of(dtype, shape, out);
}

/** A reshape target with its −1 resolved. */
export function resolveShape(target: readonly number[], size: number, source: string): number[] {
  const known = target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const free = target.filter((d) => d === -1).length;
  if (free > 1 || (free === 1 && (known === 0 || size % known !== 0)) || (free === 0 && known !== size)) {
    throw new UnsupportedNode(source, `cannot reshape ${size} values to [${target.join(', ')}]`);
  }
  return target.map((d) => (d === -1 ? size / known : d));
}

function transposed(x: Known, perm: readonly number[]): Known {
  const inStrides = stridesOf(x.shape);
  return gathered(x, perm.map((p) => x.shape[p]!), (index) => index.reduce((offset, i, a) => offset + i * inStrides[perm[a]!]!, 0));
}

export function transposeKnown(x: Known, perm: readonly number[]): Known {
  return transposed(x, perm);
}

function concat(values: Known[], axis: number, source: string): Known {
  const first = values[0]!;
  const a = axisOf(axis, first.shape.length, source);
  const shape = [...first.shape];
  shape[a] = values.reduce((total, v) => total + v.shape[a]!, 0);
  const outer = shape.slice(0, a).reduce((x, y) => x * y, 1);
  const out: number[] = [];
  for (let o = 0; o < outer; o++) {
    for (const v of values) {
      const block = v.shape.slice(a).reduce((x, y) => x * y, 1);
      for (let i = 0; i < block; i++) out.push(v.values[o * block + i]!);
    }
  }
  return Known.of(first.dtype, shape, out);
}

function reduce(init: number, f: (acc: number, v: number) => number, finish: (acc: number, count: number) => number = (acc) => acc): Fold {
  return ([x, axes], attrs, source) => {
    const rank = x!.shape.length;
    const reduced = new Set(axes!.list().map((a) => axisOf(a, rank, source)));
    const keep = attrs.bool('keep_dims', false);
    const outFull = x!.shape.map((d, i) => (reduced.has(i) ? 1 : d));
    const accs = new Array<number>(outFull.reduce((a, b) => a * b, 1)).fill(init);
    const outStrides = stridesOf(outFull);
    const inStrides = stridesOf(x!.shape);
    const values = x!.values;
    for (let i = 0; i < values.length; i++) {
      let o = 0;
      for (let d = 0; d < rank; d++) if (!reduced.has(d)) o += Math.floor(i / inStrides[d]!) % x!.shape[d]! * outStrides[d]!;
      accs[o] = f(accs[o]!, values[i]!);
    }
    const count = [...reduced].reduce((n, d) => n * x!.shape[d]!, 1);
    const shape = keep ? outFull : x!.shape.filter((_, d) => !reduced.has(d));
    return Known.of(x!.dtype, shape, accs.map((acc) => finish(acc, count)));
  };
}

function slice(x: Known, begin: readonly number[], size: readonly number[], stride: readonly number[]): Known {
  const inStrides = stridesOf(x.shape);
  return gathered(x, size, (index) => index.reduce((offset, i, a) => offset + (begin[a]! + i * stride[a]!) * inStrides[a]!, 0));
}

const identity: Fold = ([x]) => x!;

const FOLDS: Record<string, Fold> = {
  Identity: identity,
  Snapshot: identity,
  StopGradient: identity,
  PreventGradient: identity,
  Cast: ([x], attrs) => {
    const to = attrs.dtype('DstT') ?? x!.dtype;
    const values = x!.list().map((v) => (to === 'float32' ? Math.fround(v) : to === 'bool' ? Number(v !== 0) : Math.trunc(v)));
    return Known.of(to, x!.shape, values);
  },
  Shape: ([x]) => Known.vector(x!.shape),
  Size: ([x]) => Known.scalar(x!.size, 'int32'),
  Rank: ([x]) => Known.scalar(x!.shape.length, 'int32'),
  Reshape: ([x, shape], _, source) => x!.reshaped(resolveShape(shape!.list(), x!.size, source)),
  Squeeze: ([x], attrs, source) => {
    const axes = attrs.ints('squeeze_dims', attrs.ints('axis', [])).map((a) => axisOf(a, x!.shape.length, source));
    return x!.reshaped(x!.shape.filter((d, i) => (axes.length ? !axes.includes(i) : d !== 1)));
  },
  ExpandDims: ([x, axis], _, source) => {
    const shape = [...x!.shape];
    shape.splice(axisOf(axis!.values[0]!, shape.length + 1, source), 0, 1);
    return x!.reshaped(shape);
  },
  Transpose: ([x, perm]) => transposed(x!, perm!.list()),
  StridedSlice: ([x, begin, end, strides], attrs, source) => {
    let spec;
    try {
      spec = resolveStridedSlice(x!.shape, begin!.list(), end!.list(), strides!.list(), masksOf(attrs));
    } catch (e) {
      throw new UnsupportedNode(source, (e as Error).message);
    }
    const r = spec.ranges;
    return slice(x!, r.map((a) => a.begin), r.map((a) => a.size), r.map((a) => a.stride)).reshaped(spec.shape);
  },
  Slice: ([x, begin, size]) => {
    const b = begin!.list();
    const s = size!.list().map((n, i) => (n < 0 ? x!.shape[i]! - b[i]! : n));
    return slice(x!, b, s, s.map(() => 1));
  },
  Pack: (inputs, attrs, source) => {
    const rank = inputs[0]!.shape.length;
    const axis = axisOf(attrs.int('axis', 0), rank + 1, source);
    const expanded = inputs.map((v) => {
      const shape = [...v.shape];
      shape.splice(axis, 0, 1);
      return v.reshaped(shape);
    });
    return concat(expanded, axis, source);
  },
  Unpack: ([x], attrs, source) => {
    const axis = axisOf(attrs.int('axis', 0), x!.shape.length, source);
    const shape = x!.shape.filter((_, i) => i !== axis);
    return Array.from({ length: x!.shape[axis]! }, (_, k) => {
      const begin = x!.shape.map((_, i) => (i === axis ? k : 0));
      const size = x!.shape.map((d, i) => (i === axis ? 1 : d));
      return slice(x!, begin, size, size.map(() => 1)).reshaped(shape);
    });
  },
  ConcatV2: (inputs, _, source) => concat(inputs.slice(0, -1), inputs[inputs.length - 1]!.values[0]!, source),
  Concat: (inputs, _, source) => concat(inputs.slice(1), inputs[0]!.values[0]!, source),
  GatherV2: ([params, indices, axisValue], attrs, source) => {
    if (attrs.int('batch_dims', 0) !== 0) throw new UnsupportedNode(source, 'batch_dims other than 0');
    const axis = axisOf(axisValue!.values[0]!, params!.shape.length, source);
    const ids = indices!.list().map((i) => (i < 0 ? i + params!.shape[axis]! : i));
    const shape = [...params!.shape.slice(0, axis), ...indices!.shape, ...params!.shape.slice(axis + 1)];
    const inStrides = stridesOf(params!.shape);
    const idRank = indices!.shape.length;
    const idStrides = stridesOf(indices!.shape);
    return gathered(params!, shape, (index) => {
      let offset = 0;
      for (let a = 0; a < axis; a++) offset += index[a]! * inStrides[a]!;
      let id = 0;
      for (let k = 0; k < idRank; k++) id += index[axis + k]! * idStrides[k]!;
      offset += ids[id]! * inStrides[axis]!;
      for (let a = axis + 1; a < params!.shape.length; a++) offset += index[a + idRank - 1]! * inStrides[a]!;
      return offset;
    });
  },
  Fill: ([dims, value]) => {
    const shape = dims!.list();
    return Known.of(value!.dtype, shape, new Array<number>(shape.reduce((a, b) => a * b, 1)).fill(value!.values[0]!));
  },
  ZerosLike: ([x]) => Known.of(x!.dtype, x!.shape, new Array<number>(x!.size).fill(0)),
  OnesLike: ([x]) => Known.of(x!.dtype, x!.shape, new Array<number>(x!.size).fill(1)),
  Range: ([start, limit, delta]) => {
    const [s, l, d] = [start!.values[0]!, limit!.values[0]!, delta!.values[0]!];
    const n = Math.max(0, Math.ceil((l - s) / d));
    return Known.of(start!.dtype, [n], Array.from({ length: n }, (_, i) => s + i * d));
  },
  Prod: reduce(1, (a, v) => a * v),
  Sum: reduce(0, (a, v) => a + v),
  Max: reduce(-Infinity, Math.max),
  Min: reduce(Infinity, Math.min),
  Mean: reduce(0, (a, v) => a + v, (acc, count) => Math.fround(acc / count)),
  Pad: ([x, paddings]) => padded(x!, paddings!.list(), 0),
  PadV2: ([x, paddings, value]) => padded(x!, paddings!.list(), value!.values[0]!),
};

function padded(x: Known, pads: readonly number[], value: number): Known {
  const shape = x.shape.map((d, i) => d + pads[2 * i]! + pads[2 * i + 1]!);
  const inStrides = stridesOf(x.shape);
  const size = shape.reduce((a, b) => a * b, 1);
  const out = new Array<number>(size).fill(value);
  const index = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < size; i++) {
    let offset = 0;
    let inside = true;
    for (let a = 0; a < shape.length && inside; a++) {
      const j = index[a]! - pads[2 * a]!;
      if (j < 0 || j >= x.shape[a]!) inside = false;
      else offset += j * inStrides[a]!;
    }
    if (inside) out[i] = x.values[offset]!;
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++index[a]! < shape[a]!) break;
      index[a] = 0;
    }
  }
  return Known.of(x.dtype, shape, out);
}

export function masksOf(attrs: Attrs) {
  return {
    begin: attrs.int('begin_mask', 0),
    end: attrs.int('end_mask', 0),
    ellipsis: attrs.int('ellipsis_mask', 0),
    newAxis: attrs.int('new_axis_mask', 0),
    shrinkAxis: attrs.int('shrink_axis_mask', 0),
  };
}

/** Whether `fold` can compute this op from known inputs. */
export function canFold(op: string): boolean {
  return op in FOLDS || op in UNARY || op in BINARY || op === 'AddN';
}

/** The node's outputs computed from its known inputs. */
export function fold(node: NodeDef, inputs: Known[]): Known[] {
  const source = describe(node);
  const attrs = new Attrs(node);
  const unary = UNARY[node.op];
  if (unary) {
    const x = inputs[0]!;
    return [Known.of('float32', x.shape, x.list().map(unary.fold))];
  }
  const binary = BINARY[node.op];
  if (binary) {
    const [a, b] = inputs as [Known, Known];
    const integer = a.dtype !== 'float32' && b.dtype !== 'float32';
    return [broadcastFold(a, b, (x, y) => binary.fold(x, y, integer), integer ? a.dtype : 'float32', source)];
  }
  if (node.op === 'AddN') {
    const integer = inputs[0]!.dtype !== 'float32';
    return [inputs.slice(1).reduce((acc, v) => broadcastFold(acc, v, (x, y) => BINARY.Add!.fold(x, y, integer), acc.dtype, source), inputs[0]!)];
  }
  const f = FOLDS[node.op];
  if (!f) throw new UnsupportedNode(source, `no rule to fold ${node.op} on constant inputs`);
  // A shape holding the batch size (NaN) cannot size a constant: say so at this node.
  if (node.op === 'Fill' && inputs[0]!.dependsOnBatch()) throw new UnsupportedNode(source, 'a constant whose shape depends on the batch size');
  try {
    const out = f(inputs, attrs, source);
    return Array.isArray(out) ? out : [out];
  } catch (e) {
    if (e instanceof UnsupportedNode) throw e;
    throw new UnsupportedNode(source, (e as Error).message);
  }
}
