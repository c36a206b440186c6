/**
 * What a GraphDef tensor is during import: either known now (a Const, or computed from Consts and
 * shapes alone, and folded away) or computed per sample from the model's input (a graph slot).
 *
 * Known values live on the host. Integer tensors are held as doubles so that the batch size,
 * unknown until the model runs, can travel through shape arithmetic as NaN: `Shape` of an image
 * is [NaN, 224, 224, 3], and any product or sum involving the batch stays NaN, which the layout
 * ops then read as "the batch axis" or refuse.
 */
import type * as tf from '@tensorflow/tfjs-core';

/** The batch dimension inside a known shape vector. */
export const BATCH = Number.NaN;

export type KnownDtype = 'float32' | 'int32' | 'bool';

export class Known {
  readonly kind = 'known';
  private cached: Float32Array | Float64Array | null;

  private constructor(
    readonly dtype: KnownDtype,
    readonly shape: readonly number[],
    values: Float32Array | Float64Array | null,
    /** A tensor of the source model that holds exactly this value (a Const weight as loaded). */
    readonly tensor: tf.Tensor | null,
  ) {
    this.cached = values;
  }

  static of(dtype: KnownDtype, shape: readonly number[], values: ArrayLike<number>): Known {
    const size = shape.reduce((a, b) => a * b, 1);
    if (values.length !== size) throw new Error(`a known value of shape [${shape.join(', ')}] needs ${size} values, got ${values.length}`);
    return new Known(dtype, [...shape], dtype === 'float32' ? Float32Array.from(values) : Float64Array.from(values), null);
  }

  /** A model tensor, read to the host only when its values are needed (folding, transposing). */
  static ofTensor(tensor: tf.Tensor): Known {
    const dtype: KnownDtype = tensor.dtype === 'float32' ? 'float32' : tensor.dtype === 'bool' ? 'bool' : 'int32';
    return new Known(dtype, [...tensor.shape], null, tensor);
  }

  static scalar(value: number, dtype: KnownDtype = 'float32'): Known {
    return Known.of(dtype, [], [value]);
  }

  static vector(values: readonly number[], dtype: KnownDtype = 'int32'): Known {
    return Known.of(dtype, [values.length], values);
  }

  get values(): Float32Array | Float64Array {
    if (!this.cached) {
      const data = this.tensor!.dataSync() as ArrayLike<number>;
      this.cached = this.dtype === 'float32' ? Float32Array.from(data) : Float64Array.from(data);
    }
    return this.cached;
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** The values as plain numbers (shape vectors, axes, paddings). */
  list(): number[] {
    return Array.from(this.values);
  }

  /** Same values, another shape (no copy of the host values). */
  reshaped(shape: readonly number[]): Known {
    return Known.of(this.dtype, shape, this.values);
  }

  /** True when the value depends on the batch size (a NaN in an integer tensor). */
  dependsOnBatch(): boolean {
    return this.dtype !== 'float32' && this.values.some((v) => Number.isNaN(v));
  }
}

/** A tensor computed from the model's input: a graph slot, batch first. */
export interface Computed {
  readonly kind: 'computed';
  readonly slot: number;
}

export type Value = Known | Computed;

export function computed(slot: number): Computed {
  return { kind: 'computed', slot };
}

export function isKnown(v: Value): v is Known {
  return v.kind === 'known';
}

/** Row-major strides of a shape. */
export function stridesOf(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) strides[i] = strides[i + 1]! * shape[i + 1]!;
  return strides;
}
