/** Seeded tiny networks covering every layer the bounds support, and points of a region. */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/engine/random.js';
import type { Region } from '../../src/certify/region.js';

function init(rng: Rng, scale = 1) {
  return {
    kernelInitializer: tf.initializers.randomNormal({ stddev: 0.6 * scale, seed: rng.integerSeed() }),
    biasInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: rng.integerSeed() }),
  };
}

export function denseRelu(seed: number, widths: number[] = [6, 12, 12, 4], activation = 'relu'): tf.LayersModel {
  const rng = new Rng(seed);
  const layers: tf.layers.Layer[] = [];
  for (let i = 1; i < widths.length; i++) {
    const last = i === widths.length - 1;
    layers.push(
      tf.layers.dense({
        ...(i === 1 ? { inputShape: [widths[0]!] } : {}),
        units: widths[i]!,
        activation: (last ? 'linear' : activation) as 'relu',
        ...init(rng),
      }),
    );
  }
  return tf.sequential({ layers });
}

/** Conv2D (strides, same padding, dilation), BatchNorm, DepthwiseConv2D, pools, leaky relu, relu6. */
export function convolutional(seed: number): tf.LayersModel {
  const rng = new Rng(seed);
  const bn = tf.layers.batchNormalization({
    movingMeanInitializer: tf.initializers.randomNormal({ stddev: 0.2, seed: rng.integerSeed() }),
    movingVarianceInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 2, seed: rng.integerSeed() }),
    gammaInitializer: tf.initializers.randomNormal({ mean: 1, stddev: 0.3, seed: rng.integerSeed() }),
    betaInitializer: tf.initializers.randomNormal({ stddev: 0.2, seed: rng.integerSeed() }),
  });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [7, 7, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', ...init(rng) }),
      bn,
      tf.layers.depthwiseConv2d({ kernelSize: 2, depthMultiplier: 2, padding: 'valid', depthwiseInitializer: tf.initializers.randomNormal({ stddev: 0.6, seed: rng.integerSeed() }), biasInitializer: tf.initializers.randomNormal({ stddev: 0.3, seed: rng.integerSeed() }) }),
      tf.layers.leakyReLU({ alpha: 0.1 }),
      tf.layers.conv2d({ filters: 4, kernelSize: 2, dilationRate: 2, padding: 'same', activation: 'relu6', ...init(rng) }),
      tf.layers.maxPooling2d({ poolSize: 2, strides: 1 }),
      tf.layers.averagePooling2d({ poolSize: 2, strides: 1, padding: 'same' }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 5, activation: 'tanh', ...init(rng) }),
      tf.layers.dense({ units: 3, activation: 'softmax', ...init(rng) }),
    ],
  });
}

/** Functional: two branches (sigmoid, relu) joined by Add and Concatenate, global average pooling. */
export function branching(seed: number): tf.LayersModel {
  const rng = new Rng(seed);
  const input = tf.input({ shape: [5, 5, 2] });
  const a = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'sigmoid', ...init(rng) }).apply(input) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ filters: 3, kernelSize: 1, activation: 'relu', ...init(rng) }).apply(input) as tf.SymbolicTensor;
  const sum = tf.layers.add().apply([a, b]) as tf.SymbolicTensor;
  const joined = tf.layers.concatenate().apply([sum, b]) as tf.SymbolicTensor;
  const pooled = tf.layers.globalAveragePooling2d({}).apply(joined) as tf.SymbolicTensor;
  const reshaped = tf.layers.reshape({ targetShape: [6] }).apply(pooled) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 4, ...init(rng, 3) }).apply(reshaped) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

/** Corners (all of them up to 2^maxCornerBits, else random ones) and uniform points of the box. */
export function pointsOf(r: Region, rng: Rng, count: number): Float64Array[] {
  const n = r.lower.length;
  const points: Float64Array[] = [];
  const corners = n <= 10 ? 2 ** n : count;
  for (let k = 0; k < corners; k++) points.push(r.lower.map((l, i) => ((n <= 10 ? (k >> i) & 1 : rng.int(2)) ? r.upper[i]! : l)));
  for (let k = 0; k < count; k++) points.push(r.lower.map((l, i) => rng.uniform(l, r.upper[i]!)));
  return points;
}

export function marginAt(z: ArrayLike<number>, label: number): number {
  let m = Infinity;
  for (let j = 0; j < z.length; j++) if (j !== label) m = Math.min(m, z[label]! - z[j]!);
  return m;
}
