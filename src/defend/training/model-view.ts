/**
 * A LayersModel seen as log-probabilities, in training or inference mode, with the trainable
 * variables the optimiser updates. Softmax outputs are read through their (clipped) logarithm,
 * logits through logSoftmax, so every loss below is written once.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show } from '../../errors.js';

/** The parts of a tfjs-layers LayersModel training needs (structural: any copy of tfjs-layers). */
export interface TrainableModel {
  layers: { getClassName(): string; getConfig(): Record<string, unknown> }[];
  trainableWeights: { read(): tf.Tensor; trainable: boolean }[];
  apply(inputs: tf.Tensor, kwargs?: { training?: boolean }): tf.Tensor | tf.Tensor[] | unknown;
  predict(x: tf.Tensor): tf.Tensor | tf.Tensor[];
  name?: string;
}

const PROBABILITY_FLOOR = 1e-7;

export function asTrainableModel(model: unknown, where: string): TrainableModel {
  const m = model as Partial<TrainableModel> | null;
  if (m === null || typeof m !== 'object' || !Array.isArray(m.layers) || !Array.isArray(m.trainableWeights) || typeof m.apply !== 'function') {
    throw new RobustestError('INVALID_MODEL', `${where}() trains tfjs LayersModels (tf.sequential, tf.model, tf.loadLayersModel) in place.`, {
      expected: 'a tf.LayersModel',
      received: show(model),
    });
  }
  if (m.trainableWeights.length === 0) {
    throw new RobustestError('INVALID_MODEL', `${where}(): the model has no trainable weights.`, {
      expected: 'a LayersModel with trainable layers',
      received: `${m.layers.length} layers, none trainable`,
    });
  }
  return m as TrainableModel;
}

export function endsInSoftmax(model: TrainableModel): boolean {
  const last = model.layers[model.layers.length - 1];
  if (!last) return false;
  if (last.getClassName() === 'Softmax') return true;
  return last.getConfig().activation === 'softmax';
}

export class ModelView {
  readonly variables: tf.Variable[];

  constructor(
    readonly model: TrainableModel,
    readonly probabilities: boolean,
  ) {
    this.variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  /** Log-probabilities [N, classes]; `training` switches dropout and batch statistics on. */
  logProbabilities(x: tf.Tensor, training: boolean): tf.Tensor2D {
    const out = this.model.apply(x, { training });
    const y = Array.isArray(out) ? out[0] : out;
    if (!(y instanceof tf.Tensor) || y.rank !== 2) {
      throw new RobustestError('INVALID_MODEL', 'adversarialTraining() trains classifiers with one output of class scores.', {
        expected: '[N, classes]',
        received: y instanceof tf.Tensor ? `[${y.shape.join(', ')}]` : show(y),
      });
    }
    return (this.probabilities ? tf.log(tf.clipByValue(y, PROBABILITY_FLOOR, 1)) : tf.logSoftmax(y)) as tf.Tensor2D;
  }
}

/** Mean cross-entropy of log-probabilities against one-hot labels. */
export function crossEntropy(logP: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logP), 1))) as tf.Scalar;
}

/** Per-sample cross-entropy, [N]. */
export function crossEntropyPerSample(logP: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Tensor1D {
  return tf.neg(tf.sum(tf.mul(oneHot, logP), 1)) as tf.Tensor1D;
}

/** Per-sample KL(p ‖ q) from log-probabilities, [N]. */
export function klPerSample(logP: tf.Tensor2D, logQ: tf.Tensor2D): tf.Tensor1D {
  return tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)), 1);
}
