/**
 * Row selection for attack loops, which narrow their batch to the samples still running at
 * every step. On wasm, tf.gather walks every element through strided index arithmetic (about
 * 10 ms for 500 MNIST rows, more than a gradient of the bundled MLP); rows are contiguous, so
 * here they are copied as blocks.
 */
import * as tf from '@tensorflow/tfjs-core';
import { onHost, registerHostKernel, type TensorInfoLike } from './host-memory.js';

const TAKE_ROWS = 'RobustestTakeRows';
const REPLACE_ROWS = 'RobustestReplaceRows';

function rowSize(shape: readonly number[]): number {
  return shape.slice(1).reduce((a, b) => a * b, 1);
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  registerHostKernel(TAKE_ROWS, (memory, { x }, attrs) => {
    const rows = attrs.rows as number[];
    const t = x as TensorInfoLike;
    const size = rowSize(t.shape);
    return memory.output([rows.length, ...t.shape.slice(1)], t.dtype, false, (out) => copyRows(out, memory.read(t), rows, size));
  });
  registerHostKernel(REPLACE_ROWS, (memory, { base, values }, attrs) => {
    const rows = attrs.rows as number[];
    const size = rowSize(base!.shape);
    return memory.output(base!.shape, base!.dtype, false, (out) => {
      out.set(memory.read(base!));
      const replacement = memory.read(values!);
      rows.forEach((r, k) => out.set(replacement.subarray(k * size, (k + 1) * size), r * size));
    });
  });
}

/** Rows `positions` of row-major `source` (rows of `size` values) into `out`, in that order. */
export function copyRows<T extends Float32Array | Int32Array | Uint8Array>(out: T, source: T, positions: readonly number[], size: number): T {
  positions.forEach((p, k) => out.set(source.subarray(p * size, (p + 1) * size), k * size));
  return out;
}

function checkRows(where: string, rows: readonly number[], n: number): void {
  for (const r of rows) {
    if (!Number.isInteger(r) || r < 0 || r >= n) throw new RangeError(`${where}: row ${r} is outside [0, ${n - 1}]`);
  }
}

/** Rows `positions` of `t`, in that order: tf.gather along axis 0. */
export function takeRows(t: tf.Tensor, positions: readonly number[]): tf.Tensor {
  checkRows('takeRows', positions, t.shape[0]!);
  if (!onHost(t.dtype) || positions.length === 0 || t.size === 0) return tf.gather(t, Int32Array.from(positions));
  register();
  return tf.engine().runKernel(TAKE_ROWS, { x: t }, { rows: [...positions] } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/**
 * Rows [start, start + count) of `t`: tf.slice along axis 0, without the copy of the whole of `t`
 * that the wasm backend's slice kernel makes first (per batch of a large set, that copy dominates).
 */
export function sliceRows(t: tf.Tensor, start: number, count: number): tf.Tensor {
  return takeRows(t, Array.from({ length: count }, (_, i) => start + i));
}

/** A copy of `base` whose rows `rows` are the rows of `values` (row k → row rows[k]). */
export function replaceRows(base: tf.Tensor, rows: readonly number[], values: tf.Tensor): tf.Tensor {
  checkRows('replaceRows', rows, base.shape[0]!);
  if (values.shape[0] !== rows.length || rowSize(values.shape) !== rowSize(base.shape)) {
    throw new RangeError(`replaceRows: ${rows.length} rows of [${base.shape.slice(1)}] expected, got [${values.shape}]`);
  }
  if (!onHost(base.dtype) || base.dtype !== values.dtype || base.size === 0) {
    return tf.tidy(() => {
      const n = base.shape[0]!;
      const index = Int32Array.from({ length: n }, (_, i) => i);
      rows.forEach((r, k) => (index[r] = n + k));
      return tf.gather(tf.concat([base, tf.reshape(values, [rows.length, ...base.shape.slice(1)])], 0), index);
    });
  }
  register();
  return tf.engine().runKernel(REPLACE_ROWS, { base, values }, { rows: [...rows] } as unknown as tf.NamedAttrMap) as tf.Tensor;
}
