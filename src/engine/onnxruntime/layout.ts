/**
 * Where graph values live inside the emitted model. ONNX convolutions and pools are NCHW-only, so
 * every slot whose per-sample shape has rank 3 (an image, [H, W, C] in the graph) is held as
 * [N, C, H, W]; every other slot keeps the graph's axis order behind the batch axis. Constants
 * carry a batch axis of 1 and broadcast.
 */
import type { Weight } from '../../graph/types.js';
import type { OnnxWriter } from './proto.js';

export const TO_NCHW = [0, 3, 1, 2] as const;
export const TO_NHWC = [0, 2, 3, 1] as const;

export function isImage(shape: readonly number[]): boolean {
  return shape.length === 3;
}

/** The emitted-model axis of per-sample axis `axis` of a slot with this per-sample rank. */
export function insideAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  return rank === 3 ? [2, 3, 1][a]! : a + 1;
}

/** The emitted-model shape of a slot (batch dimension `batch`). */
export function insideShape(shape: readonly number[], batch: number): number[] {
  return isImage(shape) ? [batch, shape[2]!, shape[0]!, shape[1]!] : [batch, ...shape];
}

/** A value of a slot with per-sample `shape`, from inside layout to the graph's axis order. */
export function toGraphOrder(w: OnnxWriter, value: string, shape: readonly number[]): string {
  return isImage(shape) ? w.op('Transpose', [value], { perm: { ints: TO_NHWC } }) : value;
}

/** The inverse of toGraphOrder. */
export function toInside(w: OnnxWriter, value: string, shape: readonly number[]): string {
  return isImage(shape) ? w.op('Transpose', [value], { perm: { ints: TO_NCHW } }) : value;
}

/** Reshape to per-sample `shape` in graph order, keeping the (dynamic) batch dimension. */
export function reshapeSamples(w: OnnxWriter, value: string, shape: readonly number[]): string {
  return w.op('Reshape', [value, w.int64s([-1, ...shape])]);
}

/** A weight's values on the host (the tensor stays its owner's). */
export function hostValues(weight: Weight): Float32Array {
  const t = weight.tensor();
  const data = t.dataSync();
  return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
}

/** Row-major transpose of host values. */
export function permute(values: Float32Array, shape: readonly number[], perm: readonly number[]): { values: Float32Array; shape: number[] } {
  const rank = shape.length;
  const outShape = perm.map((p) => shape[p]!);
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= shape[i]!;
  }
  const strides = perm.map((p) => inStrides[p]!);
  const out = new Float32Array(values.length);
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let source = 0;
    for (let i = 0; i < rank; i++) source += index[i]! * strides[i]!;
    out[o] = values[source]!;
    for (let i = rank - 1; i >= 0; i--) {
      if (++index[i]! < outShape[i]!) break;
      index[i] = 0;
    }
  }
  return { values: out, shape: outShape };
}

/** Reverses the two leading (spatial) axes of a [kh, kw, ...] kernel. */
export function flipSpatial(values: Float32Array, shape: readonly number[]): Float32Array {
  const [kh, kw] = shape as [number, number];
  const inner = values.length / (kh * kw);
  const out = new Float32Array(values.length);
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const from = (a * kw + b) * inner;
      const to = ((kh - 1 - a) * kw + (kw - 1 - b)) * inner;
      out.set(values.subarray(from, from + inner), to);
    }
  }
  return out;
}
