/**
 * Verdicts do not depend on the executor: on the bundled MNIST models, the same seed gives the
 * same PGD robust accuracy on onnxruntime as on the tfjs engine, every sample breaks at the same ε,
 * adversarial distances are equal within float tolerance, and no call leaves a tensor.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { classifier, ensureBackend, evaluate, pgd } from '../../src/index.js';
import { onnxruntimeNetwork, type OrtNetwork } from '../../src/engine/onnxruntime/index.js';
import { onnxruntimeClassifier } from '../../src/engine/onnxruntime/classifier.js';
import { mnistSamples } from '../../examples/mnist/models.js';
import { bundledModel } from './onnxruntime-bundled.js';

const SEED = 7;
const EPSILONS = [0.05, 0.1, 0.2];

let digits: { inputs: tf.Tensor4D; labels: number[] };
beforeAll(async () => {
  // classifier() itself may pick onnxruntime: the reference side is pinned to the tfjs engine.
  vi.stubEnv('ROBUSTEST_ENGINE', 'tfjs');
  await ensureBackend();
  digits = mnistSamples(100);
});
afterAll(() => {
  digits?.inputs.dispose();
  vi.unstubAllEnvs();
});

describe('PGD verdicts are the same on both executors', () => {
  for (const name of ['mlp', 'cnn', 'mlp-at']) {
    it(`${name}: same seed, same robust accuracy; distances within float tolerance`, async () => {
      const model = await bundledModel(name);
      const tfjs = classifier(model);
      const network = (await onnxruntimeNetwork(tfjs.graph!()!, { threads: 1 })) as OrtNetwork;
      const ort = onnxruntimeClassifier(tfjs, network);
      expect(ort.gradientPath).toMatch(/^onnxruntime/);
      const attack = pgd({ steps: 20 });
      const before = tf.memory().numTensors;
      const a = await evaluate(tfjs, digits, { attack, epsilons: EPSILONS, seed: SEED });
      const b = await evaluate(ort, digits, { attack, epsilons: EPSILONS, seed: SEED });
      expect(tf.memory().numTensors).toBe(before);
      expect(b.cleanAccuracy).toBe(a.cleanAccuracy);
      expect(b.robustAccuracy).toEqual(a.robustAccuracy);
      const distances = (r: typeof a) => r.samples.map((s) => s.breakingEpsilon ?? null);
      expect(distances(b)).toEqual(distances(a));
      b.samples.forEach((s, i) => {
        const d = a.samples[i]!.distance;
        if (d === null) expect(s.distance).toBeNull();
        else expect(Math.abs(s.distance! - d)).toBeLessThan(1e-5);
      });
      network.dispose();
      model.dispose();
    });
  }
});
