/**
 * Dense: y = act(x·W + b) over the last axis. Backward multiplies by Wᵀ prepared once (wasm runs
 * a matMul with transposeB about ten times slower than a plain one). On the cpu backend both
 * products are host-matmul.ts's.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ActivationSpec } from '../activations.js';
import { hostMatMul, matMulHost } from '../host-matmul.js';
import { Prepared } from '../prepared.js';
import { activationGradient } from './fused.js';
import type { Weight } from '../../../graph/types.js';
import type { Cotangent, InputGradient, Op } from './op.js';

export class DenseOp implements Op {
  readonly reluOutput: boolean;
  private readonly transposed: Prepared<[tf.Tensor2D]>;

  /** `activation` is one tfjs fuses (relu, elu, linear); others run as nodes of their own. */
  constructor(
    private readonly weights: { readonly kernel: Weight; readonly bias: Weight | null },
    private readonly activation: ActivationSpec,
  ) {
    this.reluOutput = activation.isRelu === true;
    this.transposed = new Prepared(
      () => [this.kernel()],
      ([kernel]) => [tf.transpose(kernel as tf.Tensor2D)],
    );
  }

  private kernel(): tf.Tensor2D {
    return this.weights.kernel.tensor() as tf.Tensor2D;
  }

  prepare(): void {
    this.transposed.get();
  }

  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    const kernel = this.kernel();
    const [inDim, units] = kernel.shape;
    const a = x!.rank === 2 ? (x as tf.Tensor2D) : tf.reshape(x!, [-1, inDim]);
    const bias = this.weights.bias?.tensor();
    const activation = this.activation.fused ?? 'linear';
    const host = hostMatMul() && (activation === 'linear' || activation === 'relu') && a.dtype === 'float32';
    const y = host
      ? matMulHost(a as tf.Tensor2D, kernel, bias ?? null, activation === 'relu')
      : tf.fused.matMul({ a: a as tf.Tensor2D, b: kernel, bias, activation });
    return x!.rank === 2 ? y : tf.reshape(y, [...x!.shape.slice(0, -1), units]);
  }

  backward(cot: Cotangent, [x]: readonly tf.Tensor[], y: tf.Tensor): (InputGradient | null)[] {
    const dz = activationGradient(this.activation, cot, y);
    const [wt] = this.transposed.get();
    const units = wt.shape[0];
    const dz2 = (dz.rank === 2 ? dz : tf.reshape(dz, [-1, units])) as tf.Tensor2D;
    const dx = hostMatMul() && dz2.dtype === 'float32' ? matMulHost(dz2, wt, null, false) : tf.matMul(dz2, wt);
    return [{ gradient: x!.rank === 2 ? dx : tf.reshape(dx, x!.shape) }];
  }

  dispose(): void {
    this.transposed.release();
  }
}
