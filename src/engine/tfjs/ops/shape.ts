/** Layers that only move values: Flatten, Reshape, ZeroPadding2D. */
import * as tf from '@tensorflow/tfjs-core';
import { plain, type Cotangent, type InputGradient, type LayerLike, type Op } from './op.js';

/** Flatten (channels-last) and Reshape: the gradient is dy in the input's shape. */
export class ReshapeOp implements Op {
  /** Per-sample target shape; one entry may be -1. */
  constructor(private readonly target: readonly number[]) {}

  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    return tf.reshape(x!, [x!.shape[0], ...this.target]);
  }

  backward(cot: Cotangent, [x]: readonly tf.Tensor[]): (InputGradient | null)[] {
    return [plain(tf.reshape(cot.dy, x!.shape))];
  }
}

/** ZeroPadding2D (channels-last): the gradient is dy without the border. */
export class ZeroPadding2DOp implements Op {
  private readonly pads: [[number, number], [number, number]];

  constructor(layer: LayerLike) {
    const p = layer.padding as [[number, number], [number, number]];
    this.pads = [
      [p[0][0], p[0][1]],
      [p[1][0], p[1][1]],
    ];
  }

  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    return tf.pad(x!, [[0, 0], this.pads[0], this.pads[1], [0, 0]]);
  }

  backward(cot: Cotangent, [x]: readonly tf.Tensor[]): (InputGradient | null)[] {
    return [plain(tf.slice(cot.dy, [0, this.pads[0][0], this.pads[1][0], 0], x!.shape))];
  }
}
