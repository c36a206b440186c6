/** Small deterministic models for tests. */
import * as tf from '@tensorflow/tfjs';

/** A linear classifier z = xW + b as a plain function over [N, d] inputs. */
export function linearFunction(weights: number[][], bias: number[]): (x: tf.Tensor) => tf.Tensor {
  const w = tf.keep(tf.tensor2d(weights));
  const b = tf.keep(tf.tensor1d(bias));
  return function linear(x: tf.Tensor) {
    return tf.tidy(() => tf.add(tf.matMul(tf.reshape(x, [x.shape[0], -1]), w), b));
  };
}

/** A seeded dense softmax model over [4] inputs with 3 classes. */
export function tinyDenseModel(seed = 1): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [4], units: 8, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
      tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
    ],
  });
}
