/**
 * The input-gradient engine against tf.grad on the cpu backend: for every supported layer and
 * combinations of them, on small seeded models, the engine's input gradient (computed on cpu
 * and on wasm) equals the reference within 1e-4 relative, its logits equal model.predict (or
 * the pre-softmax of it), and no call leaves a tensor behind.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { layersNetwork } from './support/layers-network.js';
import { relativeError } from './support/graph-reference.js';
import type { LossFn, Network } from '../src/engine/tfjs/types.js';
import { scoped } from '../src/engine/hygiene.js';

type Backend = 'cpu' | 'wasm';
const BACKENDS: Backend[] = ['cpu', 'wasm'];
const TOLERANCE = 1e-4;

/** Values in [−1, 1]: relu layers see both signs whatever their weights. */
function seededInput(shape: number[], seed: number): tf.Tensor {
  return tf.randomUniform(shape, -1, 1, 'float32', seed);
}

/**
 * Cross-entropy against labels i mod classes plus a random linear term, per sample: smooth,
 * and its logit gradient is dense (no class gets a zero gradient by construction).
 */
function randomLoss(n: number, classes: number, seed: number): LossFn {
  const weights = tf.tidy(() => tf.randomNormal([n, classes], 0, 1, 'float32', seed).dataSync() as Float32Array);
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  return (logits) =>
    tf.tidy(() => {
      const own = tf.oneHot(tf.tensor1d(labels, 'int32'), classes);
      const ce = tf.sub(tf.logSumExp(logits, 1), tf.sum(tf.mul(logits, own), 1));
      return tf.add(ce, tf.sum(tf.mul(logits, tf.tensor2d(weights, [n, classes])), 1)) as tf.Tensor1D;
    });
}

interface EngineRun {
  network: Network;
  logits: Float32Array;
  gradient: Float32Array;
  /** Tensors left behind by one forward and one valueAndGradient call (after a warm-up). */
  leaked: number;
}

async function engineOn(backend: Backend, model: tf.LayersModel, x: tf.Tensor, loss: LossFn): Promise<EngineRun> {
  await tf.setBackend(backend);
  const network = layersNetwork(model);
  expect(network).not.toBeNull();
  tf.dispose(Object.values(network!.valueAndGradient(x, loss)));
  const before = tf.memory().numTensors;
  const result = network!.valueAndGradient(x, loss);
  const logits = result.logits.dataSync() as Float32Array;
  const gradient = result.gradient.dataSync() as Float32Array;
  expect(result.gradient.shape).toEqual(x.shape);
  expect(result.loss.shape).toEqual([x.shape[0]]);
  const forward = network!.forward(x);
  expect(relativeError(forward.dataSync(), logits)).toBeLessThan(TOLERANCE);
  tf.dispose([result.logits, result.loss, result.gradient, forward]);
  return { network: network!, logits, gradient, leaked: tf.memory().numTensors - before };
}

/**
 * tfjs's gradients refuse dilation > 1; a dilated convolution equals an undilated one whose
 * kernel has d − 1 zeros between taps. This twin uses those kernels.
 */
function dilatedTwin(model: tf.LayersModel): tf.LayersModel {
  const factories: Record<string, (config: never) => tf.layers.Layer> = {
    Conv2D: tf.layers.conv2d,
    SeparableConv2D: tf.layers.separableConv2d,
    Flatten: tf.layers.flatten,
    Dense: tf.layers.dense,
  };
  const twin = tf.sequential();
  const weights: tf.Tensor[] = [];
  for (const layer of model.layers) {
    const config = { ...layer.getConfig() } as Record<string, unknown>;
    delete config.name;
    const dilation = Array.isArray(config.dilationRate) ? (config.dilationRate[0] as number) : ((config.dilationRate as number | undefined) ?? 1);
    const expanded = (w: tf.Tensor) => spreadKernel(w, dilation);
    if (layer.getClassName() === 'SeparableConv2D') config.depthMultiplier = (layer as unknown as { depthMultiplier: number }).depthMultiplier;
    if (dilation > 1) {
      const k = Array.isArray(config.kernelSize) ? (config.kernelSize[0] as number) : (config.kernelSize as number);
      config.kernelSize = (k - 1) * dilation + 1;
      config.dilationRate = 1;
      const own = layer.getWeights();
      weights.push(...own.map((w, i) => (i === 0 ? expanded(w) : w)));
    } else {
      weights.push(...layer.getWeights());
    }
    twin.add(factories[layer.getClassName()]!(config as never));
  }
  twin.setWeights(weights);
  return twin;
}

/** [k, k, a, b] → [(k−1)d+1, (k−1)d+1, a, b] with the taps d apart and zeros between. */
function spreadKernel(w: tf.Tensor, d: number): tf.Tensor {
  const [k, , a, b] = w.shape as [number, number, number, number];
  const size = (k - 1) * d + 1;
  const src = w.dataSync();
  const out = new Float32Array(size * size * a * b);
  for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) for (let c = 0; c < a * b; c++) out[((i * d * size + j * d) * a * b) + c] = src[(i * k + j) * a * b + c]!;
  return tf.tensor4d(out, [size, size, a, b]);
}

beforeAll(async () => {
  await tf.setBackend('wasm');
  await tf.setBackend('cpu');
});

/** Reference: tf.grad on cpu through `reference` (default: the model itself). */
async function referenceOf(reference: tf.LayersModel, x: tf.Tensor, loss: LossFn): Promise<{ logits: Float32Array; gradient: Float32Array }> {
  await tf.setBackend('cpu');
  return tf.tidy(() => {
    const logits = reference.predict(x) as tf.Tensor2D;
    const gradient = tf.grad((v: tf.Tensor) => tf.sum(loss(reference.predict(v) as tf.Tensor2D)))(x);
    return { logits: logits.dataSync() as Float32Array, gradient: gradient.dataSync() as Float32Array };
  });
}

interface Case {
  model: tf.LayersModel;
  /** Computes the reference instead of `model` (a twin without the final softmax, …). */
  reference?: tf.LayersModel;
  batch?: number;
  peeled?: boolean;
  /** Input scaling: MNIST-like inputs have exact zeros (ties in max pooling). */
  input?: (shape: number[]) => tf.Tensor;
}

async function expectExact(c: Case): Promise<Network[]> {
  const shape = [c.batch ?? 3, ...(c.model.inputs[0]!.shape.slice(1) as number[])];
  await tf.setBackend('cpu');
  const x = c.input ? c.input(shape) : seededInput(shape, 11);
  const classes = (c.model.outputs[0]!.shape[1] as number) ?? 1;
  const loss = randomLoss(shape[0]!, classes, 5);
  const ref = await referenceOf(c.reference ?? c.model, x, loss);
  const networks: Network[] = [];
  for (const backend of BACKENDS) {
    const got = await engineOn(backend, c.model, x, loss);
    networks.push(got.network);
    expect(got.network.peeledSoftmax, `peeledSoftmax on ${backend}`).toBe(c.peeled ?? false);
    expect(got.leaked, `tensors left by calls on ${backend}`).toBe(0);
    expect(relativeError(got.logits, ref.logits), `logits on ${backend}`).toBeLessThan(TOLERANCE);
    expect(relativeError(got.gradient, ref.gradient), `gradient on ${backend}`).toBeLessThan(TOLERANCE);
    // The gradient is not trivially zero: the comparison can fail.
    expect(Math.max(...ref.gradient.map(Math.abs))).toBeGreaterThan(1e-6);
  }
  await tf.setBackend('cpu');
  x.dispose();
  return networks;
}

const init = (seed: number) => ({
  kernelInitializer: tf.initializers.glorotNormal({ seed }),
  biasInitializer: tf.initializers.randomNormal({ seed: seed + 100, stddev: 0.3 }),
});

function denseModel(activation: string, finalActivation = 'linear'): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.dense({ inputShape: [6], units: 7, activation: activation as 'relu', ...init(1) }),
      tf.layers.dense({ units: 4, activation: finalActivation as 'linear', ...init(2) }),
    ],
  });
}

type ConvArgs = Parameters<typeof tf.layers.conv2d>[0];

function convModel(conv: Partial<ConvArgs>, inputShape = [9, 9, 2]): tf.LayersModel {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape, filters: 3, kernelSize: 3, activation: 'relu', ...init(3), ...conv } as ConvArgs),
      tf.layers.flatten(),
      tf.layers.dense({ units: 3, ...init(4) }),
    ],
  });
}

describe('dense layers and activations', () => {
  for (const activation of ['relu', 'relu6', 'elu', 'sigmoid', 'tanh', 'softmax', 'gelu', 'linear']) {
    it(`Dense with ${activation}`, async () => {
      // Wide inputs reach relu6's upper kink too.
      const networks = await expectExact({ model: denseModel(activation), input: (shape) => tf.mul(seededInput(shape, 11), 10) });
      expect(networks[0]!.gradientPath).toBe('robustest engine');
    });
  }

  it('an activation without a hand-written derivative (selu) goes through tf.grad, exactly', async () => {
    const networks = await expectExact({ model: denseModel('selu') });
    expect(networks[0]!.gradientPath).toBe("robustest engine + tf.grad for activation 'selu'");
  });

  it('Activation, ReLU (with and without maxValue), LeakyReLU, ELU and Softmax layers', async () => {
    const layers = [
      tf.layers.dense({ inputShape: [5], units: 8, ...init(5) }),
      tf.layers.activation({ activation: 'tanh' }),
      tf.layers.dense({ units: 8, ...init(6) }),
      tf.layers.reLU(),
      tf.layers.dense({ units: 8, ...init(7) }),
      tf.layers.reLU({ maxValue: 0.4 }),
      tf.layers.dense({ units: 8, ...init(8) }),
      tf.layers.leakyReLU({ alpha: 0.2 }),
      tf.layers.dense({ units: 8, ...init(9) }),
      tf.layers.elu(),
      tf.layers.dense({ units: 6, ...init(10) }),
      tf.layers.softmax(),
      tf.layers.dense({ units: 3, ...init(11) }),
    ];
    await expectExact({ model: tf.sequential({ layers }) });
  });

  it('Dense over a rank-3 input (applied to the last axis), Dropout and Reshape', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.reshape({ inputShape: [12], targetShape: [3, 4] }),
        tf.layers.dense({ units: 5, activation: 'relu', ...init(12) }),
        tf.layers.dropout({ rate: 0.5 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, ...init(13) }),
      ],
    });
    await expectExact({ model });
  });
});

describe('convolutions', () => {
  const geometries: [string, Partial<ConvArgs>][] = [
    ['valid, stride 1', { padding: 'valid' }],
    ['same, stride 1', { padding: 'same' }],
    ['valid, stride 2', { padding: 'valid', strides: 2 }],
    ['same, stride 2', { padding: 'same', strides: 2 }],
    ['same, even kernel (asymmetric padding), stride 2', { padding: 'same', kernelSize: 2, strides: 2 }],
    ['non-square kernel and strides', { padding: 'same', kernelSize: [3, 2], strides: [2, 1] }],
    ['linear activation, no bias', { activation: 'linear', useBias: false }],
    ['elu activation', { activation: 'elu', strides: 2 }],
    ['sigmoid activation (a node of its own)', { activation: 'sigmoid', padding: 'same' }],
  ];
  for (const [name, conv] of geometries) {
    it(`Conv2D ${name}`, async () => {
      await expectExact({ model: convModel(conv) });
    });
  }

  it('Conv2D over a single input channel (the depthwise form on wasm)', async () => {
    await expectExact({ model: convModel({ padding: 'valid' }, [8, 8, 1]) });
    await expectExact({ model: convModel({ padding: 'same', strides: 2 }, [8, 8, 1]) });
  });

  for (const padding of ['valid', 'same'] as const) {
    it(`Conv2D with dilation 2, ${padding} (reference: the same conv with a zero-filled kernel)`, async () => {
      for (const inputShape of [
        [10, 10, 2],
        [10, 10, 1],
      ]) {
        const model = convModel({ padding, dilationRate: 2 }, inputShape);
        await expectExact({ model, reference: dilatedTwin(model) });
      }
    });
  }

  const depthwise: [string, Parameters<typeof tf.layers.depthwiseConv2d>[0]][] = [
    ['multiplier 1, valid, stride 1', { kernelSize: 3 }],
    ['multiplier 2, same, stride 1', { kernelSize: 3, depthMultiplier: 2, padding: 'same' }],
    ['multiplier 3, valid, stride 2', { kernelSize: 3, depthMultiplier: 3, strides: 2 }],
    ['multiplier 2, same, stride 2, relu', { kernelSize: 2, depthMultiplier: 2, padding: 'same', strides: 2, activation: 'relu' }],
  ];
  for (const [name, args] of depthwise) {
    it(`DepthwiseConv2D ${name}`, async () => {
      const model = tf.sequential({
        layers: [
          tf.layers.depthwiseConv2d({ inputShape: [9, 9, 2], depthwiseInitializer: tf.initializers.glorotNormal({ seed: 21 }), biasInitializer: tf.initializers.randomNormal({ seed: 22 }), ...args }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 3, ...init(23) }),
        ],
      });
      await expectExact({ model });
    });
  }

  const separable: [string, Parameters<typeof tf.layers.separableConv2d>[0]][] = [
    ['multiplier 1, valid', { filters: 4, kernelSize: 3 }],
    ['multiplier 2, same, stride 2, relu', { filters: 4, kernelSize: 3, depthMultiplier: 2, padding: 'same', strides: 2, activation: 'relu' }],
  ];
  for (const [name, args] of separable) {
    it(`SeparableConv2D ${name}`, async () => {
      const model = tf.sequential({
        layers: [
          tf.layers.separableConv2d({
            inputShape: [9, 9, 2],
            depthwiseInitializer: tf.initializers.glorotNormal({ seed: 31 }),
            pointwiseInitializer: tf.initializers.glorotNormal({ seed: 32 }),
            biasInitializer: tf.initializers.randomNormal({ seed: 33 }),
            ...args,
          }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 3, ...init(34) }),
        ],
      });
      await expectExact({ model });
    });
  }

  it('SeparableConv2D with dilation 2 (reference: a zero-filled depthwise kernel)', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.separableConv2d({
          inputShape: [10, 10, 2],
          filters: 3,
          kernelSize: 3,
          depthMultiplier: 2,
          dilationRate: 2,
          padding: 'same',
          depthwiseInitializer: tf.initializers.glorotNormal({ seed: 35 }),
          pointwiseInitializer: tf.initializers.glorotNormal({ seed: 36 }),
          biasInitializer: tf.initializers.randomNormal({ seed: 37 }),
        }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, ...init(38) }),
      ],
    });
    await expectExact({ model, reference: dilatedTwin(model) });
  });
});

describe('pooling, normalization and shape layers', () => {
  function pooled(pool: tf.layers.Layer, inputShape = [8, 8, 3], conv: Partial<ConvArgs> = {}): tf.LayersModel {
    return tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape, filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', ...init(41), ...conv } as ConvArgs),
        pool,
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, ...init(42) }),
      ],
    });
  }

  it('MaxPooling2D 2×2 after a relu conv, with MNIST-like exact zeros (ties)', async () => {
    const zeros = (shape: number[]) => tf.tidy(() => tf.mul(seededInput(shape, 12), tf.cast(tf.greater(seededInput(shape, 13), 0.6), 'float32')));
    await expectExact({ model: pooled(tf.layers.maxPooling2d({ poolSize: 2 })), input: zeros });
    await expectExact({ model: pooled(tf.layers.maxPooling2d({ poolSize: 2 }), [8, 8, 3], { activation: 'linear' }), input: zeros });
  });

  it('MaxPooling2D overlapping (3, stride 2), odd sizes, and same padding', async () => {
    await expectExact({ model: pooled(tf.layers.maxPooling2d({ poolSize: 3, strides: 2 }), [9, 9, 2]) });
    await expectExact({ model: pooled(tf.layers.maxPooling2d({ poolSize: 2 }), [9, 9, 2]) });
    await expectExact({ model: pooled(tf.layers.maxPooling2d({ poolSize: 2, padding: 'same' }), [9, 9, 2]) });
    await expectExact({ model: pooled(tf.layers.maxPooling2d({ poolSize: [2, 3], strides: [1, 2] }), [7, 8, 2]) });
  });

  it('MaxPooling2D routes ties to the first maximum, exactly like tf.grad', async () => {
    // Inputs that are constant over whole windows: every window is a four-way tie.
    const blocks = (shape: number[]) => tf.tidy(() => tf.image.resizeNearestNeighbor(seededInput([shape[0]!, 4, 4, shape[3]!], 14) as tf.Tensor4D, [8, 8]));
    const model = tf.sequential({ layers: [tf.layers.maxPooling2d({ inputShape: [8, 8, 2], poolSize: 2 }), tf.layers.flatten(), tf.layers.dense({ units: 3, ...init(43) })] });
    await expectExact({ model, input: blocks });
  });

  it('AveragePooling2D (valid, overlapping, same without partial windows) and GlobalAveragePooling2D', async () => {
    await expectExact({ model: pooled(tf.layers.averagePooling2d({ poolSize: 2 })) });
    await expectExact({ model: pooled(tf.layers.averagePooling2d({ poolSize: 3, strides: 2 }), [9, 9, 2]) });
    await expectExact({ model: pooled(tf.layers.averagePooling2d({ poolSize: 2, padding: 'same' })) });
    const global = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [6, 5, 3], filters: 4, kernelSize: 3, activation: 'relu', ...init(44) }),
        tf.layers.globalAveragePooling2d({}),
        tf.layers.dense({ units: 3, ...init(45) }),
      ],
    });
    await expectExact({ model: global });
  });

  it('BatchNormalization (inference) after a conv and after a dense layer, with and without γ and β', async () => {
    // tf.grad itself cannot differentiate a batchNorm missing γ or β (its tape reads the absent
    // tensors), so the reference for those is the same model with γ = 1 and β = 0.
    const stats = (shape: number[], seed: number, low: number, high: number) => tf.randomUniform(shape, low, high, 'float32', seed);
    const build = (affine: boolean, neutral = false) => {
      const model = tf.sequential({
        layers: [
          tf.layers.conv2d({ inputShape: [7, 7, 2], filters: 3, kernelSize: 3, ...init(51) }),
          tf.layers.batchNormalization({ center: affine, scale: affine }),
          tf.layers.activation({ activation: 'relu' }),
          tf.layers.flatten(),
          tf.layers.dense({ units: 6, ...init(52) }),
          tf.layers.batchNormalization({ center: affine, scale: affine, epsilon: 0.01 }),
          tf.layers.dense({ units: 3, ...init(53) }),
        ],
      });
      // Moving statistics (and γ, β) away from their initial values.
      for (const [index, size, seed] of [
        [1, 3, 61],
        [5, 6, 71],
      ] as const) {
        const gamma = neutral ? tf.ones([size]) : stats([size], seed, 0.5, 1.5);
        const beta = neutral ? tf.zeros([size]) : stats([size], seed + 1, -0.5, 0.5);
        const moments = [stats([size], seed + 2, -0.5, 0.5), stats([size], seed + 3, 0.1, 2)];
        model.layers[index]!.setWeights(affine || neutral ? [gamma, beta, ...moments] : moments);
      }
      return model;
    };
    await expectExact({ model: build(true) });
    await expectExact({ model: build(false), reference: build(true, true) });
  });

  it('ZeroPadding2D, Flatten, Reshape between convolutions', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.zeroPadding2d({ inputShape: [6, 6, 2], padding: [[1, 2], [2, 0]] }),
        tf.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'tanh', ...init(54) }),
        tf.layers.reshape({ targetShape: [42, 3] }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, ...init(55) }),
      ],
    });
    await expectExact({ model });
  });
});

describe("Conv2D → MaxPool 2×2 (one fused kernel on wasm)", () => {
  function convPool(inputShape: number[], convs: Partial<ConvArgs>[]): tf.LayersModel {
    const layers: tf.layers.Layer[] = [];
    convs.forEach((conv, i) => {
      layers.push(tf.layers.conv2d({ ...(i === 0 ? { inputShape } : {}), filters: 4, kernelSize: 3, activation: 'relu', ...init(71 + i), ...conv } as ConvArgs));
      layers.push(tf.layers.maxPooling2d({ poolSize: 2 }));
    });
    layers.push(tf.layers.flatten(), tf.layers.dense({ units: 3, ...init(79) }));
    return tf.sequential({ layers });
  }
  const zeros = (shape: number[]) => tf.tidy(() => tf.mul(seededInput(shape, 15), tf.cast(tf.greater(seededInput(shape, 16), 0.5), 'float32')));

  it('one input channel, MNIST-like exact zeros (ties), the last windows at the end of the batch', async () => {
    await expectExact({ model: convPool([10, 10, 1], [{ filters: 8 }]), input: zeros, batch: 4 });
  });

  it('three input channels, a 5×5 kernel, odd conv output (a row and a column in no window), linear activation', async () => {
    await expectExact({ model: convPool([11, 11, 3], [{ kernelSize: 5, activation: 'linear' }]) });
    await expectExact({ model: convPool([11, 11, 3], [{ kernelSize: [2, 5], useBias: false }]) });
  });

  it('two conv–pool pairs, eight channels into the second (the bundled CNN shape)', async () => {
    await expectExact({ model: convPool([16, 16, 1], [{ filters: 8 }, { filters: 5 }]), input: zeros, batch: 5 });
  });

  it('runs as one kernel on wasm, and not where the pair does not qualify', async () => {
    const kernelsOf = async (model: tf.LayersModel) => {
      await tf.setBackend('wasm');
      const network = layersNetwork(model)!;
      const x = seededInput([2, ...(model.inputs[0]!.shape.slice(1) as number[])], 17);
      const profile = await tf.profile(() => tf.dispose(Object.values(network.valueAndGradient(x, randomLoss(2, 3, 5)))));
      x.dispose();
      network.dispose();
      await tf.setBackend('cpu');
      return profile.kernels.map((k) => k.name);
    };
    expect(await kernelsOf(convPool([10, 10, 1], [{}]))).toContain('RobustestMaxPoolConvBackprop');
    expect(await kernelsOf(convPool([10, 10, 1], [{ padding: 'same' }]))).not.toContain('RobustestMaxPoolConvBackprop');
    expect(await kernelsOf(convPool([10, 10, 1], [{ activation: 'elu' }]))).not.toContain('RobustestMaxPoolConvBackprop');
  });

  it('a conv output read by the pool and by another branch is not fused, and stays exact', async () => {
    const input = tf.input({ shape: [8, 8, 1] });
    const a = tf.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu', ...init(75) }).apply(input) as tf.SymbolicTensor;
    const pooled = tf.layers.flatten().apply(tf.layers.maxPooling2d({ poolSize: 2 }).apply(a) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const averaged = tf.layers.globalAveragePooling2d({}).apply(a) as tf.SymbolicTensor;
    const joined = tf.layers.concatenate().apply([pooled, averaged]) as tf.SymbolicTensor;
    const output = tf.layers.dense({ units: 3, ...init(76) }).apply(joined) as tf.SymbolicTensor;
    await expectExact({ model: tf.model({ inputs: input, outputs: output }) });
  });
});

describe('functional models', () => {
  it('a residual block with Add, and Concatenate over channels and features', async () => {
    const input = tf.input({ shape: [8, 8, 2] });
    const a = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu', ...init(61) }).apply(input) as tf.SymbolicTensor;
    const b = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', ...init(62) }).apply(a) as tf.SymbolicTensor;
    const sum = tf.layers.add().apply([a, b]) as tf.SymbolicTensor;
    const relu = tf.layers.reLU().apply(sum) as tf.SymbolicTensor;
    const joined = tf.layers.concatenate({ axis: -1 }).apply([relu, input]) as tf.SymbolicTensor;
    const pooled = tf.layers.maxPooling2d({ poolSize: 2 }).apply(joined) as tf.SymbolicTensor;
    const flat = tf.layers.flatten().apply(pooled) as tf.SymbolicTensor;
    const left = tf.layers.dense({ units: 5, activation: 'tanh', ...init(63) }).apply(flat) as tf.SymbolicTensor;
    const right = tf.layers.dense({ units: 3, activation: 'relu', ...init(64) }).apply(flat) as tf.SymbolicTensor;
    const features = tf.layers.concatenate().apply([left, right, left]) as tf.SymbolicTensor;
    const output = tf.layers.dense({ units: 3, ...init(65) }).apply(features) as tf.SymbolicTensor;
    await expectExact({ model: tf.model({ inputs: input, outputs: output }) });
  });

  it('a relu output read by a max pool and by another branch (the pool must not take over the relu mask)', async () => {
    const input = tf.input({ shape: [8, 8, 2] });
    const a = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', ...init(68) }).apply(input) as tf.SymbolicTensor;
    const pooled = tf.layers.flatten().apply(tf.layers.maxPooling2d({ poolSize: 2 }).apply(a) as tf.SymbolicTensor) as tf.SymbolicTensor;
    const averaged = tf.layers.globalAveragePooling2d({}).apply(a) as tf.SymbolicTensor;
    const joined = tf.layers.concatenate().apply([pooled, averaged]) as tf.SymbolicTensor;
    const output = tf.layers.dense({ units: 3, ...init(69) }).apply(joined) as tf.SymbolicTensor;
    await expectExact({ model: tf.model({ inputs: input, outputs: output }) });
  });

  it('a Sequential model nested as a layer, applied twice (shared weights)', async () => {
    const block = tf.sequential({ layers: [tf.layers.dense({ inputShape: [6], units: 6, activation: 'tanh', ...init(66) })] });
    const input = tf.input({ shape: [6] });
    const once = block.apply(input) as tf.SymbolicTensor;
    const twice = block.apply(once) as tf.SymbolicTensor;
    const output = tf.layers.dense({ units: 3, ...init(67) }).apply(tf.layers.add().apply([once, twice]) as tf.SymbolicTensor) as tf.SymbolicTensor;
    await expectExact({ model: tf.model({ inputs: input, outputs: output }) });
  });
});

describe('a final softmax is peeled off', () => {
  function twin(final: 'softmax' | 'softmax-layer' | 'softmax-activation'): [tf.LayersModel, tf.LayersModel] {
    const build = (withSoftmax: boolean) => {
      const layers: tf.layers.Layer[] = [
        tf.layers.dense({ inputShape: [6], units: 7, activation: 'relu', ...init(71) }),
        tf.layers.dense({ units: 4, activation: withSoftmax && final === 'softmax' ? 'softmax' : 'linear', ...init(72) }),
      ];
      if (withSoftmax && final === 'softmax-layer') layers.push(tf.layers.softmax());
      if (withSoftmax && final === 'softmax-activation') layers.push(tf.layers.activation({ activation: 'softmax' }));
      return tf.sequential({ layers });
    };
    return [build(true), build(false)];
  }

  for (const final of ['softmax', 'softmax-layer', 'softmax-activation'] as const) {
    it(`ending in ${final}: logits and gradients are those of the model without it`, async () => {
      const [model, reference] = twin(final);
      await expectExact({ model, reference, peeled: true });
    });
  }
});

describe('layers without a rule', () => {
  class Doubler extends tf.layers.Layer {
    static readonly className = 'Doubler';
    override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
      return shape;
    }
    override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
      return tf.tidy(() => tf.mul(tf.sin(Array.isArray(inputs) ? inputs[0]! : inputs), 2));
    }
  }

  /** A convolution through tf.fused.conv2d with a bias and no activation: its tfjs gradient needs Conv2DBackpropFilter, which wasm lacks. */
  class FusedLinearConv extends tf.layers.Layer {
    static readonly className = 'FusedLinearConv';
    private kernel!: tf.LayerVariable;
    private bias!: tf.LayerVariable;
    override build(shape: tf.Shape | tf.Shape[]): void {
      const s = shape as tf.Shape;
      this.kernel = this.addWeight('kernel', [3, 3, s[3]!, 3], 'float32', tf.initializers.glorotNormal({ seed: 81 }));
      this.bias = this.addWeight('bias', [3], 'float32', tf.initializers.randomNormal({ seed: 82 }));
      this.built = true;
    }
    override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
      const s = shape as tf.Shape;
      return [s[0]!, s[1]! - 2, s[2]! - 2, 3];
    }
    override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      return tf.fused.conv2d({ x, filter: this.kernel.read() as tf.Tensor4D, bias: this.bias.read(), strides: 1, pad: 'valid' });
    }
  }

  it('an unknown layer class gets its gradient from tf.grad, with the class named in gradientPath', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [5], units: 6, ...init(83) }), new Doubler({}), tf.layers.dense({ units: 3, ...init(84) })],
    });
    const networks = await expectExact({ model });
    for (const network of networks) expect(network.gradientPath).toBe('robustest engine + tf.grad for Doubler');
  });

  it('a layer whose tf.grad fails on wasm is differentiated on the cpu backend, without leaks', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [7, 7, 2], filters: 2, kernelSize: 2, activation: 'relu', ...init(85) }),
        new FusedLinearConv({}),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, ...init(86) }),
      ],
    });
    // The premise: tf.grad through this layer throws on wasm.
    await tf.setBackend('wasm');
    expect(() => tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(model.predict(v) as tf.Tensor))(tf.ones([1, 7, 7, 2])))).toThrow(/Conv2DBackpropFilter/);
    const [onCpu, onWasm] = await expectExact({ model });
    expect(onCpu!.gradientPath).toBe('robustest engine + tf.grad for FusedLinearConv');
    expect(onWasm!.gradientPath).toBe('robustest engine + tf.grad for FusedLinearConv (on the cpu backend)');
  });

  it('multi-input models and non-models are not compiled (the classifier uses tf.grad)', () => {
    const a = tf.input({ shape: [3] });
    const b = tf.input({ shape: [3] });
    const output = tf.layers.dense({ units: 2 }).apply(tf.layers.concatenate().apply([a, b]) as tf.SymbolicTensor) as tf.SymbolicTensor;
    expect(layersNetwork(tf.model({ inputs: [a, b], outputs: output }))).toBeNull();
    expect(layersNetwork({ predict: () => null })).toBeNull();
    expect(layersNetwork(null)).toBeNull();
  });
});

describe('prepared weights and memory', () => {
  it('weights changed after compiling (setWeights) are picked up', async () => {
    await tf.setBackend('wasm');
    const model = denseModel('relu');
    const network = layersNetwork(model)!;
    const x = seededInput([4, 6], 91);
    const loss = randomLoss(4, 4, 92);
    const first = tf.tidy(() => network.valueAndGradient(x, loss).gradient.dataSync());
    model.setWeights(model.getWeights().map((w, i) => tf.tidy(() => tf.add(w, tf.randomNormal(w.shape, 0, 0.5, 'float32', 93 + i)))));
    const second = tf.tidy(() => network.valueAndGradient(x, loss).gradient.dataSync());
    const ref = await referenceOf(model, x, loss);
    expect(relativeError(second as Float32Array, ref.gradient)).toBeLessThan(TOLERANCE);
    expect(relativeError(first as Float32Array, ref.gradient)).toBeGreaterThan(1e-2);
    x.dispose();
  });

  it('inside robustest calls, derived weights are built once, shared by concurrent calls, and freed when the last ends', async () => {
    await tf.setBackend('wasm');
    const model = convModel({ padding: 'same' });
    const network = layersNetwork(model)!;
    const x = seededInput([2, 9, 9, 2], 94);
    const loss = randomLoss(2, 3, 95);
    const before = tf.memory().numTensors;
    const gradient = (counts: number[]) => {
      const r = network.valueAndGradient(x, loss);
      tf.dispose([r.logits, r.loss, r.gradient]);
      counts.push(tf.memory().numTensors);
    };
    const first: number[] = [];
    const second: number[] = [];
    let released = -1;
    let secondStarted!: () => void;
    const started = new Promise<void>((resolve) => (secondStarted = resolve));
    const firstCall = scoped(async () => {
      gradient(first);
      await started;
      gradient(first);
    }).then(() => (released = tf.memory().numTensors));
    await scoped(async () => {
      gradient(second);
      secondStarted();
      await firstCall;
      gradient(second);
    });
    // Two flipped kernels and the transposed dense kernel, built once for both calls.
    expect(new Set([...first, ...second])).toEqual(new Set([before + 3]));
    // The first call's end does not free what the second still uses.
    expect(released).toBe(before + 3);
    expect(tf.memory().numTensors).toBe(before);
    network.dispose();
    x.dispose();
  });

  it('forward frees intermediate values as it goes and returns only the logits', async () => {
    for (const backend of BACKENDS) {
      await tf.setBackend(backend);
      const model = convModel({ strides: 2 });
      const network = layersNetwork(model)!;
      const x = seededInput([2, 9, 9, 2], 96);
      const before = tf.memory().numTensors;
      const logits = network.forward(x);
      expect(tf.memory().numTensors - before).toBe(1);
      logits.dispose();
      x.dispose();
    }
  });
});

describe('finite differences (independent of tf.grad)', () => {
  /** Central differences of Σ loss(model.predict(x)) along random directions, on cpu. */
  async function directionalErrors(model: tf.LayersModel, shape: number[], seed: number): Promise<{ engine: number; tfGrad: number }> {
    await tf.setBackend('cpu');
    const x = seededInput(shape, seed);
    const loss = randomLoss(shape[0]!, model.outputs[0]!.shape[1] as number, seed + 1);
    const total = (v: tf.Tensor) => tf.tidy(() => tf.sum(loss(model.predict(v) as tf.Tensor2D)).dataSync()[0]!);
    const network = layersNetwork(model)!;
    const engine = tf.tidy(() => network.valueAndGradient(x, loss).gradient);
    const reference = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(loss(model.predict(v) as tf.Tensor2D)))(x));
    const h = 1e-2;
    let engineError = 0;
    let tfGradError = 0;
    for (let k = 0; k < 6; k++) {
      const direction = tf.tidy(() => {
        const d = tf.randomNormal(shape, 0, 1, 'float32', seed + 10 + k);
        return tf.div(d, tf.norm(d));
      });
      const numeric = tf.tidy(() => (total(tf.add(x, tf.mul(direction, h))) - total(tf.sub(x, tf.mul(direction, h)))) / (2 * h));
      const along = (g: tf.Tensor) => tf.tidy(() => tf.sum(tf.mul(g, direction)).dataSync()[0]!);
      const scale = Math.max(Math.abs(numeric), tf.tidy(() => tf.norm(engine).dataSync()[0]!));
      engineError = Math.max(engineError, Math.abs(along(engine) - numeric) / scale);
      tfGradError = Math.max(tfGradError, Math.abs(along(reference) - numeric) / scale);
      direction.dispose();
    }
    tf.dispose([x, engine, reference]);
    return { engine: engineError, tfGrad: tfGradError };
  }

  it('a small dense model', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [8], units: 10, activation: 'tanh', ...init(101) }),
        tf.layers.dense({ units: 6, activation: 'sigmoid', ...init(102) }),
        tf.layers.dense({ units: 3, ...init(103) }),
      ],
    });
    expect((await directionalErrors(model, [4, 8], 104)).engine).toBeLessThan(1e-3);
  });

  it('a small conv model (strided same conv, depthwise, average pooling over partial windows)', async () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [7, 7, 2], filters: 3, kernelSize: 3, strides: 2, padding: 'same', activation: 'tanh', ...init(105) }),
        tf.layers.depthwiseConv2d({ kernelSize: 2, depthMultiplier: 2, padding: 'same', activation: 'tanh', depthwiseInitializer: tf.initializers.glorotNormal({ seed: 106 }) }),
        tf.layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, ...init(107) }),
      ],
    });
    const errors = await directionalErrors(model, [3, 7, 7, 2], 108);
    expect(errors.engine).toBeLessThan(1e-2);
    // tfjs's AvgPoolGrad divides by the full window where the forward pass divided by the
    // in-bounds part of it: tf.grad is off here, the engine is not.
    expect(errors.engine).toBeLessThan(1e-3);
    expect(errors.tfGrad).toBeGreaterThan(1e-2);
  });
});

describe('failures', () => {
  it('a loss that throws propagates its error and leaves no tensor behind', async () => {
    for (const backend of BACKENDS) {
      await tf.setBackend(backend);
      const network = layersNetwork(convModel({}))!;
      const x = seededInput([2, 9, 9, 2], 121);
      const before = tf.memory().numTensors;
      expect(() =>
        network.valueAndGradient(x, (z) => {
          tf.mul(z, 2);
          throw new Error('loss failed');
        }),
      ).toThrow('loss failed');
      expect(tf.memory().numTensors).toBe(before);
      x.dispose();
    }
  });
});

describe('through the public classifier', () => {
  it('a LayersModel is differentiated by the engine, leak-free from its very first call', async () => {
    const { classifier, ensureBackend } = await import('../src/index.js');
    const backend = await ensureBackend();
    const model = denseModel('relu', 'softmax');
    // The tfjs engine is the subject here (the onnxruntime executor has tests of its own).
    process.env.ROBUSTEST_ENGINE = 'tfjs';
    const clf = classifier(model);
    const x = seededInput([3, 6], 131);
    const loss = randomLoss(3, 4, 132);
    const before = tf.memory().numTensors;
    const result = await clf.valueAndGradient(x, loss);
    const logits = await clf.logits(x);
    expect(clf.gradientPath).toBe('robustest engine');
    const got = { logits: logits.dataSync() as Float32Array, gradient: result.gradient.dataSync() as Float32Array };
    tf.dispose([result.logits, result.loss, result.gradient, logits]);
    expect(tf.memory().numTensors).toBe(before);
    // Reference: the same weights without the softmax, differentiated by tf.grad on cpu.
    const twin = denseModel('relu');
    twin.setWeights(model.getWeights());
    const ref = await referenceOf(twin, x, loss);
    expect(relativeError(got.logits, ref.logits)).toBeLessThan(TOLERANCE);
    expect(relativeError(got.gradient, ref.gradient)).toBeLessThan(TOLERANCE);
    await tf.setBackend(backend);
    x.dispose();
    delete process.env.ROBUSTEST_ENGINE;
  });
});
