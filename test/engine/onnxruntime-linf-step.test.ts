/**
 * The whole L∞ PGD step on the onnxruntime executor (src/engine/fused-step.ts): its next iterate
 * equals the tfjs step applied to the same executor's gradient, exactly, including where the
 * projection and the bounds clip; PGD through it gives the same adversarials and gradient counts
 * as PGD through the executor's gradients; nothing is left in tfjs memory.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { classifier, ensureBackend, pgd, type Classifier } from '../../src/index.js';
import { onnxruntimeNetwork, type OrtNetwork } from '../../src/engine/onnxruntime/index.js';
import { onnxruntimeClassifier } from '../../src/engine/onnxruntime/classifier.js';
import { attackLoss } from '../../src/attacks/losses.js';
import { ascentDirection, clipToBounds, projectToBall } from '../../src/attacks/steps.js';
import { Rng } from '../../src/engine/random.js';
import { mnistSamples } from '../../examples/mnist/models.js';
import { bundledModel } from './onnxruntime-bundled.js';

let digits: { inputs: tf.Tensor4D; labels: number[] };
beforeAll(async () => {
  await ensureBackend();
  digits = mnistSamples(60);
});
afterAll(() => digits?.inputs.dispose());

/** The same classifier without the fused step: PGD then steps through valueAndGradient. */
function withoutStepper(clf: Classifier): Classifier {
  return { ...clf, linfStepper: undefined } as Classifier;
}

describe('the L∞ step on the onnxruntime executor', () => {
  for (const name of ['mlp', 'cnn']) {
    it(`${name}: next iterate = the tfjs step on the executor's gradient, bit for bit`, async () => {
      const model = await bundledModel(name);
      const network = (await onnxruntimeNetwork(classifier(model).graph!()!, { threads: 1 })) as OrtNetwork;
      const n = 12;
      const x0 = tf.slice(digits.inputs, 0, n);
      const labels = Int32Array.from(digits.labels.slice(0, n));
      // Iterates spread over the ball and past it, so both clips act somewhere.
      const rng = new Rng(3);
      const noise = new Float32Array(x0.size);
      rng.fillUniform(noise, -0.2, 0.2);
      const x = tf.tidy(() => tf.clipByValue(tf.add(x0, tf.tensor(noise, x0.shape)), 0, 1));
      const before = tf.memory().numTensors;
      for (const loss of ['ce', 'margin', 'dlr'] as const) {
        const fn = attackLoss(loss, labels, null);
        const step = { size: 0.02, epsilon: 0.1, bounds: [0, 1] as const };
        const stepper = network.linfStepper(fn)!;
        expect(stepper).not.toBeNull();
        const fused = await stepper(x.dataSync() as Float32Array, x0.dataSync() as Float32Array, n, step);
        const reference = await network.valueAndGradient(x, fn);
        const expected = tf.tidy(() =>
          clipToBounds(projectToBall(tf.add(x, tf.mul(ascentDirection(reference.gradient, 'linf'), step.size)), x0, step.epsilon, 'linf'), step.bounds),
        );
        expect(Array.from(fused.next)).toEqual(Array.from(expected.dataSync()));
        expect(Array.from(fused.logits.dataSync())).toEqual(Array.from(reference.logits.dataSync()));
        tf.dispose([fused.logits, reference.logits, reference.loss, reference.gradient, expected]);
      }
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, x0]);
      network.dispose();
      model.dispose();
    });
  }

  it('has no step for a loss without an ONNX form', async () => {
    const model = await bundledModel('mlp');
    const network = (await onnxruntimeNetwork(classifier(model).graph!()!, { threads: 1 })) as OrtNetwork;
    expect(network.linfStepper((z) => tf.sum(z, 1) as tf.Tensor1D)).toBeNull();
    network.dispose();
    model.dispose();
  });

  for (const name of ['mlp', 'cnn', 'mlp-at']) {
    it(`${name}: PGD through the step equals PGD through the gradients`, async () => {
      const model = await bundledModel(name);
      const tfjs = classifier(model);
      const network = (await onnxruntimeNetwork(tfjs.graph!()!, { threads: 1 })) as OrtNetwork;
      const fused = onnxruntimeClassifier(tfjs, network);
      const plain = withoutStepper(fused);
      for (const options of [{ steps: 15 }, { steps: 10, loss: 'dlr' as const, restarts: 2 }, { steps: 10, target: 3 }]) {
        const attack = pgd(options);
        const before = tf.memory().numTensors;
        const stepped = vi.spyOn(network, 'linfStepper');
        const a = await attack.run(plain, digits, { epsilon: 0.15, seed: 11 });
        expect(stepped).not.toHaveBeenCalled();
        const b = await attack.run(fused, digits, { epsilon: 0.15, seed: 11 });
        expect(stepped).toHaveBeenCalled();
        stepped.mockRestore();
        expect(b.success).toEqual(a.success);
        expect(b.gradientEvaluations).toBe(a.gradientEvaluations);
        expect(b.queries).toEqual(a.queries);
        expect(Array.from(b.adversarials.dataSync())).toEqual(Array.from(a.adversarials.dataSync()));
        tf.dispose([a.adversarials, b.adversarials]);
        expect(tf.memory().numTensors).toBe(before);
      }
      network.dispose();
      model.dispose();
    });
  }
});
