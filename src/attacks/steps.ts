/** Building blocks shared by gradient attacks: ascent directions, projections and random starts per norm. */
import * as tf from '@tensorflow/tfjs-core';
import type { Norm } from '../norms.js';
import type { AttackContext } from './runner.js';
import { replaceRows as replaceBlocks, takeRows as takeBlocks } from '../engine/tfjs/rows.js';
import { sign } from '../engine/tfjs/sign.js';

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
        return sign(gradient);
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
  const rho = tf.cast(tf.maximum(tf.sub(tf.sum(tf.cast(condition, 'int32'), 1), 1), 0), 'int32');
  // The cumulative sum at rho, picked by a one-hot mask (gather with batch dims is unreliable on wasm).
  const atRho = tf.sum(tf.mul(cumsum, tf.oneHot(rho as tf.Tensor1D, d)), 1);
  const theta = tf.reshape(tf.div(tf.sub(atRho, epsilon), tf.cast(tf.add(rho, 1), 'float32')), [n, 1]);
  const inside = tf.reshape(tf.lessEqual(tf.sum(abs, 1), epsilon), [n, 1]);
  const projected = tf.mul(tf.sign(flat), tf.relu(tf.sub(abs, tf.maximum(theta, 0))));
  return tf.reshape(tf.where(tf.broadcastTo(inside, [n, d]), flat, projected), delta.shape);
}

export function clipToBounds(x: tf.Tensor, bounds: readonly [number, number]): tf.Tensor {
  return tf.clipByValue(x, bounds[0], bounds[1]);
}

/** `values` broadcast per sample: a [N] list becomes [N, 1, …, 1] to scale a [N, …] tensor. */
export function perSampleColumn(values: ArrayLike<number>, like: tf.Tensor): tf.Tensor {
  return tf.tensor(Float32Array.from(values), [like.shape[0], ...like.shape.slice(1).map(() => 1)]);
}

/**
 * Sparse L1 steepest ascent (Tramèr & Boneh 2019, as Foolbox's SparseL1DescentAttack): the sign
 * of the gradient on the coordinates whose magnitude reaches the per-sample `quantile`, zero
 * elsewhere and wherever the step would leave the box, scaled to unit L1 norm.
 */
export function sparseL1Direction(gradient: tf.Tensor, x: tf.Tensor, bounds: readonly [number, number], quantile: number): tf.Tensor {
  return tf.tidy(() => {
    const n = gradient.shape[0];
    const stuck = tf.logicalOr(tf.logicalAnd(tf.lessEqual(x, bounds[0]), tf.less(gradient, 0)), tf.logicalAnd(tf.greaterEqual(x, bounds[1]), tf.greater(gradient, 0)));
    const g = tf.where(stuck, tf.zerosLike(gradient), gradient);
    const abs = tf.reshape(tf.abs(g), [n, -1]) as tf.Tensor2D;
    const d = abs.shape[1];
    // numpy's default (linear) quantile of each row.
    const position = quantile * (d - 1);
    const below = Math.floor(position);
    const fraction = position - below;
    const descending = tf.topk(abs, Math.min(d, d - below)).values;
    const lowValue = tf.slice(descending, [0, d - 1 - below], [n, 1]);
    const highValue = below + 1 < d ? tf.slice(descending, [0, d - 2 - below], [n, 1]) : lowValue;
    const threshold = tf.add(lowValue, tf.mul(tf.sub(highValue, lowValue), fraction));
    const keep = tf.greaterEqual(abs, threshold);
    const e = tf.where(keep, tf.sign(tf.reshape(g, [n, -1])), tf.zerosLike(abs));
    const size = tf.maximum(tf.sum(tf.abs(e), 1, true), TINY);
    return tf.reshape(tf.div(e, size), gradient.shape);
  });
}

/**
 * A uniform random point of the ε-ball around `x0` (rows `rows` of the batch), clipped to the
 * bounds. L∞: uniform cube; L2: Gaussian direction with radius ε·U^(1/d); L1: signed uniform
 * point of the simplex (exponential spacings), ε-scaled.
 */
export function randomStart(ctx: AttackContext, x0: tf.Tensor, rows: readonly number[], epsilon: number, norm: Norm, stream: string): tf.Tensor {
  const d = x0.size / x0.shape[0];
  const noise = (() => {
    switch (norm) {
      case 'linf':
        return ctx.uniform(rows, -epsilon, epsilon, stream);
      case 'l2':
        return ctx.sample(rows, stream, (rng, out) => {
          let sum = 0;
          for (let i = 0; i < out.length; i++) {
            out[i] = rng.normal();
            sum += out[i]! * out[i]!;
          }
          const radius = epsilon * Math.pow(rng.next(), 1 / d);
          const scale = radius / Math.max(Math.sqrt(sum), TINY);
          for (let i = 0; i < out.length; i++) out[i]! *= scale;
        });
      case 'l1':
        return ctx.sample(rows, stream, (rng, out) => {
          // d + 1 exponential spacings: the first d, normalised by the total, are uniform in the simplex.
          let sum = 0;
          for (let i = 0; i < out.length; i++) {
            out[i] = -Math.log(1 - rng.next());
            sum += out[i]!;
          }
          sum += -Math.log(1 - rng.next());
          for (let i = 0; i < out.length; i++) out[i] = (rng.next() < 0.5 ? -1 : 1) * (epsilon * out[i]!) / sum;
        });
      default:
        throw new Error(`no random start for ${norm}`);
    }
  })();
  const start = tf.tidy(() => clipToBounds(projectToBall(tf.add(x0, noise), x0, epsilon, norm), ctx.bounds));
  noise.dispose();
  return start;
}

/**
 * `base` with its rows `rows` replaced by the rows of `values` (one per listed row); `base` is
 * left alone. Rows move as blocks (tf.gather is slow on wasm).
 */
export function replaceRows(base: tf.Tensor, rows: readonly number[], values: tf.Tensor): tf.Tensor {
  if (rows.length === 0) return tf.clone(base);
  return replaceBlocks(base, rows, values);
}

/** Rows of `t` by position (a gather along axis 0 that accepts a number list). */
export function takeRows(t: tf.Tensor, positions: readonly number[]): tf.Tensor {
  return takeBlocks(t, positions);
}
