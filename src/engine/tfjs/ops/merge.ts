/** Add and Concatenate in functional models. */
import * as tf from '@tensorflow/tfjs-core';
import { plain, type Cotangent, type InputGradient, type Op } from './op.js';

/** Add over inputs of one shape (tfjs-layers broadcasts otherwise; those fall back). */
export class AddOp implements Op {
  forward(inputs: readonly tf.Tensor[]): tf.Tensor {
    let sum = inputs[0]!;
    for (let i = 1; i < inputs.length; i++) sum = tf.add(sum, inputs[i]!);
    return inputs.length === 1 ? tf.clone(sum) : sum;
  }

  backward(cot: Cotangent, inputs: readonly tf.Tensor[]): (InputGradient | null)[] {
    return inputs.map((x) => {
      if (x.shape.join() !== cot.dy.shape.join()) throw new Error(`Add: input [${x.shape}] differs from the output [${cot.dy.shape}]`);
      return plain(cot.dy);
    });
  }
}

export class ConcatenateOp implements Op {
  constructor(private readonly axis: number) {}

  private resolved(rank: number): number {
    return this.axis < 0 ? rank + this.axis : this.axis;
  }

  forward(inputs: readonly tf.Tensor[]): tf.Tensor {
    return tf.concat(inputs as tf.Tensor[], this.resolved(inputs[0]!.rank));
  }

  backward(cot: Cotangent, inputs: readonly tf.Tensor[]): (InputGradient | null)[] {
    const axis = this.resolved(cot.dy.rank);
    return tf.split(cot.dy, inputs.map((x) => x.shape[axis]!), axis).map(plain);
  }
}
