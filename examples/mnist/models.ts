/**
 * The bundled MNIST classifiers (trained by `npm run example:train`) and the digits to test
 * them on. Everything is read from files next to this module, so loading needs no network and
 * works from any working directory.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { IMAGE_SHAPE, mnistSplit } from './data.js';

export const MNIST_MODEL_NAMES = ['mlp', 'cnn'] as const;
export type MnistModelName = (typeof MNIST_MODEL_NAMES)[number];

export interface MnistModelMetrics {
  /** Layers from input to output, by class name. */
  architecture: string[];
  parameters: number;
  epochs: number;
  batchSize: number;
  /** Adam's initial learning rate, annealed to zero over the epochs by a cosine schedule. */
  learningRate: number;
  /** Training images are shifted by up to this many pixels, per image and epoch. */
  maxShift: number;
  trainSamples: number;
  testSamples: number;
  /** Accuracy on the whole test split. */
  testAccuracy: number;
  /** Correctly classified digits among the first 500 of the test split. */
  first500Correct: number;
}

export interface MnistMetrics {
  seed: number;
  backend: string;
  split: string;
  models: Record<MnistModelName, MnistModelMetrics>;
}

/** The directory holding `model.json` and `weights.bin` for one model. */
export function mnistModelDirectory(name: MnistModelName): string {
  return fileURLToPath(new URL(`./models/${name}/`, import.meta.url));
}

export const MNIST_METRICS_PATH = fileURLToPath(new URL('./models/metrics.json', import.meta.url));

export function mnistMetrics(): MnistMetrics {
  return JSON.parse(readFileSync(MNIST_METRICS_PATH, 'utf8')) as MnistMetrics;
}

/** Loads a bundled model. The caller owns it and disposes it with `model.dispose()`. */
export async function loadMnistModel(name: MnistModelName): Promise<tf.LayersModel> {
  if (!MNIST_MODEL_NAMES.includes(name)) {
    throw new RangeError(`Unknown MNIST model.\n  Expected: ${MNIST_MODEL_NAMES.join(' | ')}\n  Received: ${JSON.stringify(name)}`);
  }
  const dir = mnistModelDirectory(name);
  const json = JSON.parse(readFileSync(`${dir}model.json`, 'utf8')) as tf.io.ModelJSON;
  const specs = json.weightsManifest.flatMap((group) => group.weights);
  const paths = json.weightsManifest.flatMap((group) => group.paths);
  const buffers = paths.map((path) => {
    const bytes = readFileSync(dir + path);
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  });
  const weightData = tf.io.CompositeArrayBuffer.join(buffers);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}

export interface MnistSamples {
  /** [N, 28, 28, 1], values in [0, 1]; the caller disposes it. */
  inputs: tf.Tensor4D;
  labels: number[];
}

/** The first `count` digits of a split (class-interleaved, so any prefix is balanced). */
export function mnistSamples(count: number, split: 'train' | 'test' = 'test'): MnistSamples {
  if (split !== 'train' && split !== 'test') {
    throw new RangeError(`Unknown MNIST split.\n  Expected: "train" | "test"\n  Received: ${JSON.stringify(split)}`);
  }
  const set = Number.isInteger(count) && count >= 1 ? mnistSplit(split, count) : undefined;
  if (set === undefined || set.count < count) {
    const available = mnistSplit(split).count;
    throw new RangeError(`Invalid digit count for the ${split} split.\n  Expected: an integer from 1 to ${available}\n  Received: ${count}`);
  }
  return {
    inputs: tf.tensor4d(set.images, [set.count, ...IMAGE_SHAPE]),
    labels: Array.from(set.labels),
  };
}
