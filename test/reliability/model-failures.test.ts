/**
 * MODEL_FAILED names the real cause; an out-of-memory crash of the wasm backend does not break the
 * next call, nor the user's own tensors and models.
 */
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { classifier, ensureBackend, evaluate, fgsm } from '../../src/index.js';
import { linearFunction, tinyDenseModel } from '../support/models.js';

const samples = { inputs: [[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.5, 0.5]], labels: [0, 1] };

describe('MODEL_FAILED says why', () => {
  it('a missing kernel is named with the fix', async () => {
    const missing = classifier(function needsKernel() {
      throw new Error("Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'");
    });
    await expect(fgsm().run(missing, samples, { epsilon: 0.1 })).rejects.toMatchObject({
      code: 'MODEL_FAILED',
      failure: 'missing-kernel',
      message: expect.stringMatching(/'Conv2DBackpropFilter'[\s\S]*ROBUSTEST_BACKEND=cpu/),
    });
  });

  it('a shape problem names the inputs and what a function model receives', async () => {
    const wrong = classifier(function expectsArrays(x: tf.Tensor) {
      return (x as unknown as number[][]).map((row) => row) as unknown as tf.Tensor;
    });
    await expect(fgsm().run(wrong, samples, { epsilon: 0.1 })).rejects.toMatchObject({
      code: 'MODEL_FAILED',
      failure: 'shape',
      message: expect.stringMatching(/\[1, 4\][\s\S]*receives one tf\.Tensor/),
    });
  });

  it('an unbound predict says to pass the model or bind it', async () => {
    const model = tinyDenseModel();
    const unbound = classifier(model.predict as unknown as (x: tf.Tensor) => tf.Tensor);
    await expect(fgsm().run(unbound, samples, { epsilon: 0.1 })).rejects.toMatchObject({
      code: 'MODEL_FAILED',
      message: expect.stringContaining('classifier((x) => model.predict(x))'),
    });
  });

  it('out of memory on wasm: named, with a batch size to try, and the next call and the caller’s tensors are unharmed', async () => {
    await ensureBackend();
    expect(tf.getBackend()).toBe('wasm');
    const model = tinyDenseModel();
    const mine = tf.tensor2d(samples.inputs);
    const linear = linearFunction([[1, -1], [0, 1], [-1, 0], [0.5, 0.5]], [0, 0.1]);
    const hungry = classifier(function hungry(x: tf.Tensor) {
      // 2^30 float32 values: 4 GiB, more than the wasm heap can ever hold.
      tf.tidy(() => tf.zeros([2 ** 30]));
      return linear(x);
    });
    const error = await fgsm().run(hungry, samples, { epsilon: 0.1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'MODEL_FAILED', failure: 'out-of-memory', message: expect.stringContaining('batchSize: 1') });
    await expectHealthy(model, mine);
  });

  it('a wasm trap: the instance is replaced before the next call, and the caller’s tensors and models carry over', async () => {
    await ensureBackend();
    const model = tinyDenseModel();
    const mine = tf.tensor2d(samples.inputs);
    const before = tf.findBackend('wasm');
    const trapping = classifier(function trapping(): tf.Tensor {
      throw new (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } }).WebAssembly.RuntimeError('memory access out of bounds');
    });
    await expect(fgsm().run(trapping, samples, { epsilon: 0.1 })).rejects.toMatchObject({ code: 'MODEL_FAILED', failure: 'out-of-memory' });
    await expectHealthy(model, mine);
    expect(tf.findBackend('wasm')).not.toBe(before);
  });
});

async function expectHealthy(model: tf.LayersModel, mine: tf.Tensor): Promise<void> {
  const report = await evaluate(classifier(model), samples, { attack: fgsm(), epsilons: [0.1] });
  expect(report.count).toBe(2);
  expect(Array.from(await mine.data())).toEqual(samples.inputs.flat().map((v) => Math.fround(v)));
  const out = model.predict(mine) as tf.Tensor;
  expect((await out.data()).every(Number.isFinite)).toBe(true);
  tf.dispose([out, mine]);
}
