/**
 * Where an ONNX axis lives in a graph slot. ONNX image values are NCHW; the graph keeps images
 * NHWC, so a rank-4 ONNX value is held "permuted": its per-sample slot is [H, W, C]. Every other
 * value is held in ONNX order, minus the batch axis.
 */
import { BATCH } from './host-tensor.js';

/** Per-sample stored axis of ONNX axes 1, 2, 3 (C, H, W) of a permuted value. */
const STORED_OF_ONNX = [-1, 2, 0, 1] as const;
/** ONNX axis of stored per-sample axes 0, 1, 2 (H, W, C) of a permuted value. */
const ONNX_OF_STORED = [2, 3, 1] as const;

/** [H, W, C] → [C, H, W] and back, per sample. */
export const TO_ONNX_ORDER = [2, 0, 1] as const;
export const TO_STORED_ORDER = [1, 2, 0] as const;

export function storedAxis(permuted: boolean, onnxAxis: number): number {
  return permuted ? STORED_OF_ONNX[onnxAxis]! : onnxAxis - 1;
}

export function onnxAxisOf(permuted: boolean, stored: number): number {
  return permuted ? ONNX_OF_STORED[stored]! : stored + 1;
}

/** The full ONNX shape (batch first, as NaN) of a slot holding `stored`. */
export function onnxShapeOf(stored: readonly number[], permuted: boolean): number[] {
  return permuted ? [BATCH, stored[2]!, stored[0]!, stored[1]!] : [BATCH, ...stored];
}

/** The per-sample stored shape of a value whose ONNX per-sample shape is [C, H, W]. */
export function storedShapeOf(onnxPerSample: readonly number[], permuted: boolean): number[] {
  return permuted ? [onnxPerSample[1]!, onnxPerSample[2]!, onnxPerSample[0]!] : [...onnxPerSample];
}

/**
 * True when [C, H, W] data laid out as [H, W, C] has the same row-major order: the axes longer
 * than 1 appear in the same order in both (e.g. [C, 1, 1] after global pooling). Then a reshape
 * crosses the layout without a transpose.
 */
export function sameMemoryOrder(onnxPerSample: readonly number[]): boolean {
  let last = -1;
  for (let a = 0; a < 3; a++) {
    if (onnxPerSample[a] === 1) continue;
    const stored = STORED_OF_ONNX[a + 1]!;
    if (stored < last) return false;
    last = stored;
  }
  return true;
}

/** Normalizes a possibly negative ONNX axis of a rank-`rank` value. */
export function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

export function isIdentity(perm: readonly number[]): boolean {
  return perm.every((p, i) => p === i);
}
