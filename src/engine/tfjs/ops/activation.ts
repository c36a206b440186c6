/** An activation as a node of its own: Activation, ReLU, LeakyReLU, ELU and Softmax layers. */
import type * as tf from '@tensorflow/tfjs-core';
import type { ActivationSpec } from '../activations.js';
import { plain, type Cotangent, type InputGradient, type Op } from './op.js';

export class ActivationOp implements Op {
  readonly autodiff?: string;
  readonly reluOutput: boolean;

  constructor(readonly spec: ActivationSpec) {
    this.reluOutput = spec.isRelu === true;
    if (spec.viaAutodiff) this.autodiff = `activation '${spec.name}'`;
  }

  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    return this.spec.apply(x!);
  }

  backward(cot: Cotangent, [x]: readonly tf.Tensor[], y: tf.Tensor): (InputGradient | null)[] {
    if (this.spec.isRelu && cot.reluMasked) return [{ gradient: cot.dy, reluMasked: false }];
    return [plain(this.spec.backward(cot.dy, this.spec.needsInput ? x! : null, y))];
  }
}
