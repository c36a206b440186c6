/**
 * BatchNormalization at inference over the last axis: an affine map per channel, whose input
 * gradient is dy · γ / √(σ² + ε) with the factor prepared once.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Prepared } from '../prepared.js';
import type { Op as GraphOp } from '../../../graph/types.js';
import { plain, type Cotangent, type InputGradient, type Op } from './op.js';

type BatchNormSpec = Extract<GraphOp, { kind: 'batchNorm' }>;

export class BatchNormOp implements Op {
  private readonly scale: Prepared<[tf.Tensor]>;

  constructor(private readonly spec: BatchNormSpec) {
    this.scale = new Prepared(
      () => [spec.variance.tensor(), ...(spec.gamma ? [spec.gamma.tensor()] : [])],
      ([variance, gamma]) => {
        const inverse = tf.rsqrt(tf.add(variance!, spec.epsilon));
        return [gamma ? tf.mul(inverse, gamma) : inverse];
      },
    );
  }

  prepare(): void {
    this.scale.get();
  }

  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    const { mean, variance, beta, gamma, epsilon } = this.spec;
    return tf.batchNorm(x!, mean.tensor(), variance.tensor(), beta?.tensor(), gamma?.tensor(), epsilon);
  }

  backward(cot: Cotangent): (InputGradient | null)[] {
    return [plain(tf.mul(cot.dy, this.scale.get()[0]))];
  }

  dispose(): void {
    this.scale.release();
  }
}
