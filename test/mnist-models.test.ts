import { tmpdir } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnistModel, mnistMetrics, mnistSamples, type MnistModelName } from '../examples/mnist/models.js';

// The architectures as specified, with their parameter counts worked out by hand.
const EXPECTED: Record<MnistModelName, { layers: string[]; parameters: number; minAccuracy: number }> = {
  mlp: {
    layers: ['Flatten', 'Dense', 'Dense'],
    parameters: 784 * 100 + 100 + 100 * 10 + 10,
    minAccuracy: 0.95,
  },
  cnn: {
    layers: ['Conv2D', 'MaxPooling2D', 'Conv2D', 'MaxPooling2D', 'Flatten', 'Dense', 'Dense'],
    // conv 3×3×1→8, conv 3×3×8→16, then 5×5×16 = 400 features → 64 → 10
    parameters: 9 * 8 + 8 + 9 * 8 * 16 + 16 + 400 * 64 + 64 + 64 * 10 + 10,
    minAccuracy: 0.97,
  },
};
const NAMES = Object.keys(EXPECTED) as MnistModelName[];
const metrics = mnistMetrics();

function correctCount(model: tf.LayersModel, inputs: tf.Tensor4D, labels: number[]): number {
  const predicted = tf.tidy(() => tf.argMax(model.predict(inputs) as tf.Tensor, 1).arraySync() as number[]);
  return predicted.filter((p, i) => p === labels[i]).length;
}

describe('bundled MNIST models', () => {
  // metrics.json was measured on cpu, the backend the models were trained on.
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it('records the training setup in metrics.json', () => {
    expect(metrics.backend).toBe('cpu');
    expect(Number.isInteger(metrics.seed)).toBe(true);
    for (const name of NAMES) {
      const m = metrics.models[name];
      expect(m.architecture).toEqual(EXPECTED[name].layers);
      expect(m.parameters).toBe(EXPECTED[name].parameters);
      expect(m.trainSamples + m.testSamples).toBe(10_000);
      expect(m.epochs).toBeGreaterThan(0);
      expect(m.testAccuracy).toBeGreaterThanOrEqual(EXPECTED[name].minAccuracy);
      expect(m.testAccuracy).toBeLessThanOrEqual(1);
    }
  });

  for (const name of NAMES) {
    describe(name, () => {
      it('has the specified architecture, input [28, 28, 1] and 10 softmax outputs', async () => {
        const model = await loadMnistModel(name);
        try {
          expect(model.inputs[0]!.shape).toEqual([null, 28, 28, 1]);
          expect(model.outputs[0]!.shape).toEqual([null, 10]);
          expect(model.layers.map((layer) => layer.getClassName())).toEqual(EXPECTED[name].layers);
          expect(model.countParams()).toBe(EXPECTED[name].parameters);
          const last = model.layers[model.layers.length - 1]!.getConfig();
          expect(last.activation).toBe('softmax');
        } finally {
          model.dispose();
        }
      });

      it('leaks no tensors: loading adds exactly its weights, dispose removes them', async () => {
        const before = tf.memory().numTensors;
        const model = await loadMnistModel(name);
        expect(tf.memory().numTensors - before).toBe(model.weights.length);
        model.dispose();
        expect(tf.memory().numTensors).toBe(before);
      });

      it('reproduces the recorded accuracy on the first 500 test digits (cpu, exactly)', async () => {
        const model = await loadMnistModel(name);
        const { inputs, labels } = mnistSamples(500);
        try {
          expect(correctCount(model, inputs, labels)).toBe(metrics.models[name].first500Correct);
        } finally {
          inputs.dispose();
          model.dispose();
        }
      });

      it('reproduces the recorded accuracy on wasm within one digit', async () => {
        await tf.setBackend('wasm');
        try {
          const model = await loadMnistModel(name);
          const { inputs, labels } = mnistSamples(500);
          try {
            const correct = correctCount(model, inputs, labels);
            expect(Math.abs(correct - metrics.models[name].first500Correct)).toBeLessThanOrEqual(1);
          } finally {
            inputs.dispose();
            model.dispose();
          }
        } finally {
          await tf.setBackend('cpu');
        }
      });
    });
  }

  it('loads from any working directory', async () => {
    const cwd = process.cwd();
    process.chdir(tmpdir());
    try {
      const model = await loadMnistModel('mlp');
      expect(model.countParams()).toBe(EXPECTED.mlp.parameters);
      model.dispose();
    } finally {
      process.chdir(cwd);
    }
  });

  it('rejects an unknown model name', async () => {
    await expect(loadMnistModel('resnet' as MnistModelName)).rejects.toThrow(/Expected: mlp \| cnn\n {2}Received: "resnet"/);
  });
});

describe('mnistSamples', () => {
  it('returns [N, 28, 28, 1] digits in [0, 1] with class-interleaved labels, as one tensor', () => {
    const before = tf.memory().numTensors;
    const { inputs, labels } = mnistSamples(30);
    try {
      expect(tf.memory().numTensors - before).toBe(1);
      expect(inputs.shape).toEqual([30, 28, 28, 1]);
      expect(labels).toEqual(Array.from({ length: 30 }, (_, i) => i % 10));
      const [min, max] = tf.tidy(() => [tf.min(inputs).dataSync()[0], tf.max(inputs).dataSync()[0]]);
      expect(min).toBe(0);
      expect(max).toBeGreaterThan(0.9);
      expect(max).toBeLessThanOrEqual(1);
    } finally {
      inputs.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects counts it cannot honour instead of returning fewer digits', () => {
    const available = metrics.models.mlp.testSamples;
    expect(() => mnistSamples(available + 1)).toThrow(new RegExp(`Expected: an integer from 1 to ${available}\\n {2}Received: ${available + 1}`));
    expect(() => mnistSamples(0)).toThrow(/Received: 0/);
    expect(() => mnistSamples(2.5)).toThrow(/Received: 2.5/);
    expect(() => mnistSamples(5, 'validation' as 'test')).toThrow(/Received: "validation"/);
    const all = mnistSamples(available);
    expect(all.inputs.shape[0]).toBe(available);
    all.inputs.dispose();
  });
});
