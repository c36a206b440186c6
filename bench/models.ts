/**
 * The bundled MNIST models when they have been trained (examples/mnist/models/), otherwise the
 * same architectures with seeded random weights, so the bench always runs.
 */
import { existsSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src/engine/random.js';
import { loadMnistModel, mnistModelDirectory, type MnistModelName } from '../examples/mnist/models.js';

export interface BenchModel {
  name: MnistModelName;
  model: tf.LayersModel;
  /** 'trained' or 'seeded random weights'. */
  weights: string;
}

function seeded(name: MnistModelName): tf.LayersModel {
  const rng = new Rng(2024).split(name);
  const init = (layer: string) => ({
    kernelInitializer: tf.initializers.glorotUniform({ seed: rng.split(layer).integerSeed() }),
    biasInitializer: tf.initializers.randomNormal({ seed: rng.split(`${layer}-bias`).integerSeed(), stddev: 0.05 }),
  });
  if (name === 'mlp') {
    return tf.sequential({
      layers: [
        tf.layers.flatten({ inputShape: [28, 28, 1] }),
        tf.layers.dense({ units: 100, activation: 'relu', ...init('dense1') }),
        tf.layers.dense({ units: 10, activation: 'softmax', ...init('dense2') }),
      ],
    });
  }
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 3, activation: 'relu', ...init('conv1') }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', ...init('conv2') }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 64, activation: 'relu', ...init('dense1') }),
      tf.layers.dense({ units: 10, activation: 'softmax', ...init('dense2') }),
    ],
  });
}

export async function benchModel(name: MnistModelName): Promise<BenchModel> {
  if (existsSync(`${mnistModelDirectory(name)}model.json`)) return { name, model: await loadMnistModel(name), weights: 'trained' };
  return { name, model: seeded(name), weights: 'seeded random weights (not trained yet)' };
}

export function describeArchitecture(model: tf.LayersModel): string {
  return model.layers.map((l) => l.getClassName()).join(' → ');
}
