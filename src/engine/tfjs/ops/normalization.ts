/**
 * BatchNormalization at inference over the last axis: an affine map per channel, whose input
 * gradient is dy · γ / √(σ² + ε) with the factor prepared once.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Prepared } from '../prepared.js';
import { plain, variable, type Cotangent, type InputGradient, type LayerLike, type Op } from './op.js';

export class BatchNormOp implements Op {
  private readonly epsilon: number;
  private readonly scale: Prepared<[tf.Tensor]>;

  constructor(private readonly layer: LayerLike) {
    this.epsilon = Number(layer.epsilon ?? 1e-3);
    this.scale = new Prepared(
      () => [variable(layer, 'movingVariance')!, ...(this.gamma() ? [this.gamma()!] : [])],
      ([variance, gamma]) => {
        const inverse = tf.rsqrt(tf.add(variance!, this.epsilon));
        return [gamma ? tf.mul(inverse, gamma) : inverse];
      },
    );
  }

  private gamma(): tf.Tensor | null {
    return variable(this.layer, 'gamma');
  }

  prepare(): void {
    this.scale.get();
  }

  forward([x]: readonly tf.Tensor[]): tf.Tensor {
    const mean = variable(this.layer, 'movingMean')!;
    const variance = variable(this.layer, 'movingVariance')!;
    const beta = variable(this.layer, 'beta') ?? undefined;
    const gamma = this.gamma() ?? undefined;
    return tf.batchNorm(x!, mean, variance, beta, gamma, this.epsilon);
  }

  backward(cot: Cotangent): (InputGradient | null)[] {
    return [plain(tf.mul(cot.dy, this.scale.get()[0]))];
  }

  dispose(): void {
    this.scale.release();
  }
}
