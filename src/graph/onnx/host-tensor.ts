/**
 * Values known at import time (initializers, Constant nodes, shape arithmetic), kept on the host.
 * Floats are float32; integers and booleans are float64 so that int64 shape values stay exact and
 * the unknown batch size can be carried as NaN through shape arithmetic (Shape → Gather → Concat).
 */
export interface HostTensor {
  readonly dtype: 'float' | 'int' | 'bool';
  /** Full ONNX shape. */
  readonly shape: readonly number[];
  readonly data: Float32Array | Float64Array;
}

/** The batch size, unknown until run time, inside folded shape values. */
export const BATCH = Number.NaN;

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function host(dtype: HostTensor['dtype'], shape: readonly number[], values: ArrayLike<number>): HostTensor {
  const data = dtype === 'float' ? Float32Array.from(values) : Float64Array.from(values);
  return { dtype, shape: [...shape], data };
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = strides[i + 1]! * shape[i + 1]!;
  return strides;
}

/** out[i0, i1, …] = t[i_perm⁻¹…]: the numpy transpose with axes `perm`. */
export function transposeHost(t: HostTensor, perm: readonly number[]): HostTensor {
  const shape = perm.map((p) => t.shape[p]!);
  const inStrides = stridesOf(t.shape);
  // Walking the output in order, each axis moves the input offset by its permuted stride.
  const step = perm.map((p) => inStrides[p]!);
  const out = t.dtype === 'float' ? new Float32Array(t.data.length) : new Float64Array(t.data.length);
  const index = new Array<number>(shape.length).fill(0);
  const last = shape.length - 1;
  let offset = 0;
  for (let o = 0; o < out.length; o++) {
    out[o] = t.data[offset]!;
    for (let a = last; a >= 0; a--) {
      if (++index[a]! < shape[a]!) {
        offset += step[a]!;
        break;
      }
      index[a] = 0;
      offset -= (shape[a]! - 1) * step[a]!;
    }
  }
  return { dtype: t.dtype, shape, data: out };
}

/** Numpy broadcasting of two full shapes; null when they do not broadcast. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Elementwise f(a, b) with numpy broadcasting. */
export function zipHost(a: HostTensor, b: HostTensor, dtype: HostTensor['dtype'], f: (x: number, y: number) => number): HostTensor | null {
  const shape = broadcastShapes(a.shape, b.shape);
  if (!shape) return null;
  const size = sizeOf(shape);
  const out = dtype === 'float' ? new Float32Array(size) : new Float64Array(size);
  const reader = (t: HostTensor) => {
    const strides = stridesOf(t.shape);
    const offset = shape.length - t.shape.length;
    return (index: number[]) => {
      let at = 0;
      for (let i = 0; i < t.shape.length; i++) if (t.shape[i] !== 1) at += index[i + offset]! * strides[i]!;
      return t.data[at]!;
    };
  };
  const ra = reader(a);
  const rb = reader(b);
  const index = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < size; o++) {
    out[o] = f(ra(index), rb(index));
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return { dtype, shape, data: out };
}

export function toFloat32(t: HostTensor): Float32Array {
  return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
}

/** The values of an integer tensor as numbers (shape arguments, axes, pads). */
export function ints(t: HostTensor): number[] {
  return Array.from(t.data);
}
