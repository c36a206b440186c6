/** Building blocks shared by gradient attacks: ascent directions and projections per norm. */
import * as tf from '@tensorflow/tfjs-core';
import type { Norm } from '../norms.js';

const TINY = 1e-12;

function perSample(t: tf.Tensor, reduce: (flat: tf.Tensor2D) => tf.Tensor1D): tf.Tensor {
  const flat = tf.reshape(t, [t.shape[0], -1]) as tf.Tensor2D;
  return tf.reshape(reduce(flat), [t.shape[0], ...t.shape.slice(1).map(() => 1)]);
}

/** The steepest-ascent direction of unit size in `norm` for gradient g (Foolbox's normalisation). */
export function ascentDirection(gradient: tf.Tensor, norm: Norm): tf.Tensor {
  return tf.tidy(() => {
    switch (norm) {
      case 'linf':
        return tf.sign(gradient);
      case 'l2':
        return tf.div(gradient, tf.maximum(perSample(gradient, (f) => tf.norm(f, 'euclidean', 1) as tf.Tensor1D), TINY));
      case 'l1':
        return tf.div(gradient, tf.maximum(perSample(gradient, (f) => tf.sum(tf.abs(f), 1)), TINY));
      default:
        throw new Error(`no ascent direction for ${norm}`);
    }
  });
}

/** Projects x onto the ε-ball around x0 in `norm` (L1 by the exact sorting projection). */
export function projectToBall(x: tf.Tensor, x0: tf.Tensor, epsilon: number, norm: Norm): tf.Tensor {
  return tf.tidy(() => {
    const delta = tf.sub(x, x0);
    switch (norm) {
      case 'linf':
        return tf.add(x0, tf.clipByValue(delta, -epsilon, epsilon));
      case 'l2': {
        const size = perSample(delta, (f) => tf.norm(f, 'euclidean', 1) as tf.Tensor1D);
        const factor = tf.minimum(1, tf.div(epsilon, tf.maximum(size, TINY)));
        return tf.add(x0, tf.mul(delta, factor));
      }
      case 'l1':
        return tf.add(x0, projectL1(delta, epsilon));
      default:
        throw new Error(`no projection for ${norm}`);
    }
  });
}

/** Euclidean projection of each row onto the L1 ball (Duchi et al. 2008). */
function projectL1(delta: tf.Tensor, epsilon: number): tf.Tensor {
  const n = delta.shape[0];
  const flat = tf.reshape(delta, [n, -1]) as tf.Tensor2D;
  const d = flat.shape[1];
  const abs = tf.abs(flat);
  const sorted = tf.topk(abs, d).values;
  const cumsum = tf.cumsum(sorted, 1);
  const ks = tf.reshape(tf.range(1, d + 1), [1, d]);
  const condition = tf.greater(tf.sub(sorted, tf.div(tf.sub(cumsum, epsilon), ks)), 0);
  const rho = tf.maximum(tf.sub(tf.sum(tf.cast(condition, 'int32'), 1), 1), 0);
  const theta = tf.reshape(tf.div(tf.sub(tf.gather(cumsum, rho, 1, 1), epsilon), tf.cast(tf.add(rho, 1), 'float32')), [n, 1]);
  const inside = tf.reshape(tf.lessEqual(tf.sum(abs, 1), epsilon), [n, 1]);
  const projected = tf.mul(tf.sign(flat), tf.relu(tf.sub(abs, tf.maximum(theta, 0))));
  return tf.reshape(tf.where(tf.broadcastTo(inside, [n, d]), flat, projected), delta.shape);
}

export function clipToBounds(x: tf.Tensor, bounds: readonly [number, number]): tf.Tensor {
  return tf.clipByValue(x, bounds[0], bounds[1]);
}
