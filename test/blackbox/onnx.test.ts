import * as tf from '@tensorflow/tfjs';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifier, deepfool, fgsm, hopSkipJump, isClassifier, onnxClassifier, pgd, square, type Classifier, type OnnxSession } from '../../src/index.js';
import { onnxBytes } from '../fixtures/onnx/twin.js';
import { correctDigits, expectSameRun, noLeak, recheck, twin } from './helpers.js';

let mnist: ort.InferenceSession;
let rgb: ort.InferenceSession;
let digits: { inputs: tf.Tensor4D; labels: number[] };

beforeAll(async () => {
  mnist = await ort.InferenceSession.create(onnxBytes('mnist-cnn'));
  rgb = await ort.InferenceSession.create(onnxBytes('rgb-conv'));
  digits = correctDigits(twin(), 8);
  twin('rgb-conv');
});
afterAll(async () => {
  digits.inputs.dispose();
  await mnist.release();
  await rgb.release();
});

async function maxDifference(a: Classifier, b: Classifier, x: tf.Tensor): Promise<number> {
  const [za, zb] = [await a.logits(x), await b.logits(x)];
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(za, zb))).dataSync()[0]!);
  tf.dispose([za, zb]);
  return diff;
}

describe('onnxClassifier', () => {
  it('describes an ONNX model: no gradients, shape and classes from the session metadata', () => {
    const clf = onnxClassifier(mnist);
    expect(clf.kind).toBe('onnx');
    expect(clf.differentiable).toBe(false);
    expect(clf.inputShape).toEqual([28, 28, 1]);
    expect(clf.numClasses).toBe(10);
    expect(isClassifier(clf)).toBe(true);
    expect(classifier(clf)).toBe(clf);
    // NCHW models are described in robustest's NHWC terms.
    expect(onnxClassifier(rgb, { layout: 'nchw' }).inputShape).toEqual([6, 6, 3]);
  });

  it('gives the tfjs twin’s logits to 1e-4 (NHWC model and NCHW model)', async () => {
    const onnx = onnxClassifier(mnist);
    const tfjs = classifier(twin(), { outputs: 'logits' });
    const before = tf.memory().numTensors;
    expect(await maxDifference(onnx, tfjs, digits.inputs)).toBeLessThan(1e-4);
    const images = tf.randomUniform([16, 6, 6, 3], 0, 1, 'float32', 2);
    expect(await maxDifference(onnxClassifier(rgb, { layout: 'nchw' }), classifier(twin('rgb-conv'), { outputs: 'logits' }), images)).toBeLessThan(1e-4);
    // Without the transposition the same numbers mean something else, and the check notices.
    const wrong = onnxClassifier(
      { ...sessionParts(rgb), inputMetadata: undefined, run: (feeds, fetches) => rgb.run(asNchw(feeds as Record<string, ort.Tensor>), fetches) },
      { layout: 'nhwc' },
    );
    expect(await maxDifference(wrong, classifier(twin('rgb-conv'), { outputs: 'logits' }), images)).toBeGreaterThan(1e-2);
    images.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it.each([
    ['Square L∞', () => square({ norm: 'linf', queries: 200 }), 0.15],
    ['HopSkipJump L2', () => hopSkipJump({ steps: 10, queries: 800 }), undefined],
  ] as const)('gives the same verdicts as the tfjs twin under a seeded %s', async (_name, make, epsilon) => {
    const onnx = onnxClassifier(mnist);
    const tfjs = classifier(twin(), { outputs: 'logits' });
    const a = await noLeak(() => make().run(onnx, digits, { epsilon, seed: 12 }), (r) => [r.adversarials]);
    const b = await make().run(tfjs, digits, { epsilon, seed: 12 });
    expect(a.success).toEqual(b.success);
    expect(a.success.some(Boolean)).toBe(true);
    const predict = (x: tf.Tensor) => twin().predict(x) as tf.Tensor;
    await recheck(a, { predict, inputs: digits.inputs, labels: digits.labels, norm: epsilon === undefined ? 'l2' : 'linf', epsilon });
    if (epsilon !== undefined) {
      // Square compares margins far from ties, so float32 rounding cannot change its path.
      await expectSameRun(a, b);
    } else {
      // HopSkipJump's bisection queries points on the boundary itself, where rounding decides
      // single verdicts; the paths part, the distances found agree.
      a.distances.forEach((d, i) => expect(Math.abs(d - b.distances[i]!) / b.distances[i]!).toBeLessThan(0.1));
    }
    tf.dispose([a.adversarials, b.adversarials]);
  });

  it('is refused by gradient attacks, which name the query-based ones', async () => {
    const clf = onnxClassifier(mnist);
    const error = await fgsm().run(clf, digits, { epsilon: 0.1 }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NOT_DIFFERENTIABLE' });
    for (const name of ['square()', 'onePixel()', 'hopSkipJump()', 'boundary()']) expect((error as Error).message).toContain(name);
    await expect(clf.valueAndGradient(digits.inputs, (z) => tf.sum(z, 1))).rejects.toMatchObject({ code: 'NOT_DIFFERENTIABLE' });
  });

  it('with the model bytes, has the exact input gradients of its tfjs twin (NHWC and NCHW models)', async () => {
    const loss = (z: tf.Tensor2D) => tf.tidy(() => tf.add(tf.logSumExp(z, 1), tf.mul(0.3, tf.sum(tf.mul(z, tf.range(0, z.shape[1], 1)), 1))) as tf.Tensor1D);
    const images = tf.randomUniform([4, 6, 6, 3], 0, 1, 'float32', 5);
    const cases: [Classifier, Classifier, tf.Tensor][] = [
      [onnxClassifier(mnist, { model: onnxBytes('mnist-cnn') }), classifier(twin(), { outputs: 'logits' }), digits.inputs],
      [onnxClassifier(rgb, { layout: 'nchw', model: onnxBytes('rgb-conv') }), classifier(twin('rgb-conv'), { outputs: 'logits' }), images],
    ];
    for (const [onnx, tfjs, x] of cases) {
      expect(onnx.differentiable).toBe(true);
      expect(onnx.graph?.()?.format).toBe('onnx');
      // The imported weights are uploaded by the first gradient call and live with the classifier.
      const warm = await onnx.valueAndGradient(x, loss);
      tf.dispose([warm.logits, warm.loss, warm.gradient]);
      const before = tf.memory().numTensors;
      const [a, b] = [await onnx.valueAndGradient(x, loss), await tfjs.valueAndGradient(x, loss)];
      const error = tf.tidy(() => tf.max(tf.abs(tf.sub(a.gradient, b.gradient))).dataSync()[0]! / tf.max(tf.abs(b.gradient)).dataSync()[0]!);
      expect(error).toBeLessThan(1e-4);
      tf.dispose([a.logits, a.loss, a.gradient, b.logits, b.loss, b.gradient]);
      expect(tf.memory().numTensors).toBe(before);
    }
    images.dispose();
  });

  it('with the model bytes, runs PGD and DeepFool whose adversarials hold under ONNX Runtime', async () => {
    const clf = onnxClassifier(mnist, { model: onnxBytes('mnist-cnn') });
    const predict = (x: tf.Tensor) => tf.tidy(() => twin().predict(x) as tf.Tensor);
    // The imported weights are uploaded by the first gradient call and live with the classifier.
    const warm = await clf.valueAndGradient(digits.inputs, (z) => tf.sum(z, 1) as tf.Tensor1D);
    tf.dispose([warm.logits, warm.loss, warm.gradient]);
    const before = tf.memory().numTensors;
    const linf = await pgd({ steps: 20 }).run(clf, digits, { epsilon: 0.3, seed: 3 });
    expect(linf.success.filter(Boolean).length).toBeGreaterThan(0);
    // Every reported success is re-checked by ONNX Runtime itself.
    const z = await clf.logits(linf.adversarials);
    const top = z.argMax(1);
    const predicted = (await top.array()) as number[];
    tf.dispose([z, top]);
    linf.success.forEach((s, i) => {
      if (s) expect(predicted[i]).not.toBe(digits.labels[i]);
    });
    await recheck(linf, { predict, inputs: digits.inputs, labels: digits.labels, norm: 'linf', epsilon: 0.3 });
    const minimal = await deepfool().run(clf, digits, { seed: 3 });
    expect(minimal.success.every(Boolean)).toBe(true);
    await recheck(minimal, { predict, inputs: digits.inputs, labels: digits.labels, norm: 'l2' });
    tf.dispose([linf.adversarials, minimal.adversarials]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses model bytes that are not an ONNX file, and names an op it cannot differentiate', async () => {
    expect(() => onnxClassifier(mnist, { model: 'model.onnx' as unknown as Uint8Array })).toThrow(expect.objectContaining({ code: 'INVALID_OPTION' }));
    expect(() => onnxClassifier(mnist, { model: new Uint8Array([1, 2, 3, 4, 5]) })).toThrow();
  });

  it('reads probability outputs as log-probabilities (auto-detected)', async () => {
    const softmaxed: OnnxSession = {
      ...sessionParts(mnist),
      async run(feeds, fetches) {
        const out = (await mnist.run(feeds as Record<string, ort.Tensor>, fetches)).logits!;
        const probabilities = tf.tidy(() => tf.softmax(tf.tensor2d(out.data as Float32Array, out.dims as [number, number])).dataSync() as Float32Array);
        return { logits: new ort.Tensor('float32', probabilities, out.dims) };
      },
    };
    const clf = onnxClassifier(softmaxed);
    const z = await clf.logits(digits.inputs);
    const expected = tf.tidy(() => tf.logSoftmax(twin().predict(digits.inputs) as tf.Tensor));
    expect(tf.tidy(() => tf.max(tf.abs(tf.sub(z, expected))).dataSync()[0]!)).toBeLessThan(1e-3);
    await expect(onnxClassifier(softmaxed, { outputs: 'logits' }).logits(digits.inputs)).rejects.toMatchObject({ code: 'NOT_LOGITS' });
    tf.dispose([z, expected]);
  });

  it('feeds models with a fixed batch size one slice at a time', async () => {
    const sizes: number[] = [];
    const single: OnnxSession = {
      ...sessionParts(mnist),
      inputMetadata: [{ isTensor: true, shape: [1, 28, 28, 1] }],
      run(feeds, fetches) {
        sizes.push((feeds as Record<string, ort.Tensor>).input!.dims[0]!);
        return mnist.run(feeds as Record<string, ort.Tensor>, fetches);
      },
    };
    const diff = await maxDifference(onnxClassifier(single), classifier(twin(), { outputs: 'logits' }), digits.inputs);
    expect(diff).toBeLessThan(1e-4);
    expect(sizes.every((s) => s === 1)).toBe(true);
    expect(sizes.length).toBe(digits.labels.length);
  });

  it('says what was expected on bad input', async () => {
    expect(() => onnxClassifier({} as OnnxSession)).toThrow(/InferenceSession/);
    expect(() => onnxClassifier(mnist, { inputName: 'pixels' })).toThrow(/"input"/);
    expect(() => onnxClassifier(mnist, { outputName: 'probs' })).toThrow(/"logits"/);
    expect(() => onnxClassifier(mnist, { layout: 'chw' as 'nchw' })).toThrow(/layout/);
    expect(() => onnxClassifier(mnist, { bounds: [1, 0] })).toThrow(/bounds/);
    const clf = onnxClassifier(mnist);
    const small = { inputs: tf.zeros([2, 27, 27, 1]), labels: [0, 1] };
    await expect(square().run(clf, small, { epsilon: 0.1 })).rejects.toMatchObject({ code: 'INVALID_SHAPE', expected: '[?, 28, 28, 1]' });
    small.inputs.dispose();
    const flat = tf.zeros([2, 784]);
    await expect(onnxClassifier(rgb, { layout: 'nchw' }).logits(flat)).rejects.toMatchObject({ code: 'INVALID_SHAPE' });
    const broken: OnnxSession = { ...sessionParts(mnist), inputMetadata: undefined, run: () => Promise.reject(new Error('Got invalid dimensions for input')) };
    await expect(onnxClassifier(broken).logits(flat)).rejects.toMatchObject({ code: 'MODEL_FAILED', message: expect.stringContaining('invalid dimensions') });
    flat.dispose();
  });
});

function sessionParts(session: ort.InferenceSession): Omit<OnnxSession, 'run'> {
  return { inputNames: session.inputNames, outputNames: session.outputNames, inputMetadata: session.inputMetadata, outputMetadata: session.outputMetadata };
}

/** Reinterprets an NHWC feed as NCHW without moving data (what a missing transposition does). */
function asNchw(feeds: Record<string, ort.Tensor>): Record<string, ort.Tensor> {
  const t = feeds.input!;
  const [n, h, w, c] = t.dims as number[];
  return { input: new ort.Tensor('float32', t.data as Float32Array, [n!, c!, h!, w!]) };
}
