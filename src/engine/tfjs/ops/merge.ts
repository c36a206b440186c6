/** Elementwise arithmetic of two values (numpy broadcasting), concatenation and constants. */
import * as tf from '@tensorflow/tfjs-core';
import type { BinaryFn, Weight } from '../../../graph/types.js';
import { plain, type Cotangent, type InputGradient, type Op } from './op.js';

/** dy summed over the axes `x` was broadcast along, in x's shape. */
function unbroadcast(dy: tf.Tensor, shape: readonly number[]): tf.Tensor {
  if (dy.shape.join() === shape.join()) return dy;
  const lead = dy.rank - shape.length;
  const axes: number[] = [];
  dy.shape.forEach((d, i) => {
    if (i < lead || (shape[i - lead] === 1 && d !== 1)) axes.push(i);
  });
  return tf.reshape(axes.length ? tf.sum(dy, axes) : dy, [...shape]);
}

const FORWARD: Record<BinaryFn, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
  add: tf.add,
  sub: tf.sub,
  mul: tf.mul,
  div: tf.div,
  max: tf.maximum,
  min: tf.minimum,
};

export class BinaryOp implements Op {
  /** `varying[k]`: whether input k depends on the model input (a gradient is wanted for it). */
  constructor(
    readonly fn: BinaryFn,
    private readonly varying: readonly [boolean, boolean],
  ) {}

  forward([a, b]: readonly tf.Tensor[]): tf.Tensor {
    return FORWARD[this.fn](a!, b!);
  }

  backward(cot: Cotangent, [a, b]: readonly tf.Tensor[]): (InputGradient | null)[] {
    const dy = cot.dy;
    const local = (k: 0 | 1): tf.Tensor => {
      switch (this.fn) {
        case 'add':
          return dy;
        case 'sub':
          return k === 0 ? dy : tf.neg(dy);
        case 'mul':
          return tf.mul(dy, k === 0 ? b! : a!);
        case 'div':
          return k === 0 ? tf.div(dy, b!) : tf.neg(tf.div(tf.mul(dy, a!), tf.square(b!)));
        case 'max':
          return tf.mul(dy, tf.cast(k === 0 ? tf.greaterEqual(a!, b!) : tf.less(a!, b!), 'float32'));
        case 'min':
          return tf.mul(dy, tf.cast(k === 0 ? tf.lessEqual(a!, b!) : tf.greater(a!, b!), 'float32'));
      }
    };
    return ([0, 1] as const).map((k) => (this.varying[k] ? plain(unbroadcast(local(k), (k === 0 ? a! : b!).shape)) : null));
  }
}

export class ConcatOp implements Op {
  /** `axis` is a per-sample axis. */
  constructor(private readonly axis: number) {}

  private resolved(rank: number): number {
    return this.axis < 0 ? rank + this.axis : this.axis + 1;
  }

  forward(inputs: readonly tf.Tensor[]): tf.Tensor {
    // A constant input has a batch of one: it is repeated along the batch of the others.
    const batch = Math.max(...inputs.map((x) => x.shape[0]!));
    const full = inputs.map((x) => (x.shape[0] === batch ? x : tf.broadcastTo(x, [batch, ...x.shape.slice(1)])));
    return tf.concat(full, this.resolved(inputs[0]!.rank));
  }

  backward(cot: Cotangent, inputs: readonly tf.Tensor[]): (InputGradient | null)[] {
    const axis = this.resolved(cot.dy.rank);
    const batch = cot.dy.shape[0];
    return tf.split(cot.dy, inputs.map((x) => x.shape[axis]!), axis).map((g, k) => (inputs[k]!.shape[0] === batch ? plain(g) : null));
  }
}

/** A constant with a leading batch axis of 1, broadcast by whatever reads it. */
export class ConstantOp implements Op {
  constructor(private readonly value: Weight) {}

  forward(): tf.Tensor {
    return tf.reshape(this.value.tensor(), [1, ...this.value.shape]);
  }

  backward(): (InputGradient | null)[] {
    return [];
  }
}
