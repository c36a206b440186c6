/** Nodes that only move values: reshape, pad, transpose, slice. */
import * as tf from '@tensorflow/tfjs-core';
import { plain, type Cotangent, type InputGradient, type Op } from './op.js';

/** Row-major reshape: the gradient is dy in the input's shape. */
export class ReshapeOp implements Op {
  /** Per-sample target shape. */
  constructor(private readonly target: readonly number[]) {}

  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    return tf.reshape(x!, [x!.shape[0], ...this.target]);
  }

  backward(cot: Cotangent, [x]: readonly tf.Tensor[]): (InputGradient | null)[] {
    return [plain(tf.reshape(cot.dy, x!.shape))];
  }
}

/** Constant padding: the gradient is dy without the border. */
export class PadOp implements Op {
  constructor(
    private readonly pads: readonly (readonly [number, number])[],
    private readonly value: number,
  ) {}

  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    return tf.pad(x!, [[0, 0], ...this.pads.map(([a, b]) => [a, b] as [number, number])], this.value);
  }

  backward(cot: Cotangent, [x]: readonly tf.Tensor[]): (InputGradient | null)[] {
    return [plain(tf.slice(cot.dy, [0, ...this.pads.map(([a]) => a)], x!.shape))];
  }
}

/** Permutation of per-sample axes: the gradient is dy permuted back. */
export class TransposeOp implements Op {
  private readonly perm: number[];
  private readonly inverse: number[];

  constructor(perm: readonly number[]) {
    this.perm = [0, ...perm.map((p) => p + 1)];
    this.inverse = this.perm.map((_, i) => this.perm.indexOf(i));
  }

  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    return tf.transpose(x!, this.perm);
  }

  backward(cot: Cotangent): (InputGradient | null)[] {
    return [plain(tf.transpose(cot.dy, this.inverse))];
  }
}

/** A static slice: the gradient is dy placed back with zeros around it. */
export class SliceOp implements Op {
  constructor(
    private readonly begin: readonly number[],
    private readonly size: readonly number[],
  ) {}

  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    return tf.slice(x!, [0, ...this.begin], [-1, ...this.size]);
  }

  backward(cot: Cotangent, [x]: readonly tf.Tensor[]): (InputGradient | null)[] {
    const pads = x!.shape.map((d, i): [number, number] => {
      if (i === 0) return [0, 0];
      const before = this.begin[i - 1]!;
      return [before, d - before - cot.dy.shape[i]!];
    });
    return [plain(tf.pad(cot.dy, pads))];
  }
}
