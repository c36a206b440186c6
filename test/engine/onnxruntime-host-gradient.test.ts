/**
 * Host gradients on the onnxruntime executor (src/engine/host-gradient.ts): the logits and
 * gradient written into host arrays equal the executor's tensor results exactly; PGD's host loop
 * on them (src/attacks/host-iteration.ts, its step in src/engine/linf-kernel.ts) gives the same
 * adversarials and gradient counts as PGD through tensors; nothing is left in tfjs memory.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { classifier, ensureBackend, pgd, type Classifier } from '../../src/index.js';
import { onnxruntimeNetwork, type OrtNetwork } from '../../src/engine/onnxruntime/index.js';
import { onnxruntimeClassifier } from '../../src/engine/onnxruntime/classifier.js';
import { attackLoss } from '../../src/attacks/losses.js';
import { lossSpecOf } from '../../src/engine/loss-spec.js';
import { lossKindOf } from '../../src/engine/onnxruntime/loss-head.js';
import { emitModel, gradientShape } from '../../src/engine/onnxruntime/model.js';
import onnxProto from 'onnx-proto';
import { Rng } from '../../src/engine/random.js';
import { mnistSamples } from '../../examples/mnist/models.js';
import { bundledModel } from './onnxruntime-bundled.js';

let digits: { inputs: tf.Tensor4D; labels: number[] };
beforeAll(async () => {
  await ensureBackend();
  digits = mnistSamples(60);
});
afterAll(() => digits?.inputs.dispose());

/** The same classifier without host gradients: PGD then steps through valueAndGradient. */
function withoutHostGradient(clf: Classifier): Classifier {
  return { ...clf, hostGradient: undefined } as Classifier;
}

describe('host gradients on the onnxruntime executor', () => {
  for (const name of ['mlp', 'cnn']) {
    it(`${name}: logits and gradient on host arrays = the executor's tensors, bit for bit`, async () => {
      const model = await bundledModel(name);
      const network = (await onnxruntimeNetwork(classifier(model).graph!()!, { threads: 1 })) as OrtNetwork;
      const n = 12;
      const x0 = tf.slice(digits.inputs, 0, n);
      const labels = Int32Array.from(digits.labels.slice(0, n));
      // Points around the digits, where an attack's iterates are.
      const rng = new Rng(3);
      const noise = new Float32Array(x0.size);
      rng.fillUniform(noise, -0.2, 0.2);
      const x = tf.tidy(() => tf.clipByValue(tf.add(x0, tf.tensor(noise, x0.shape)), 0, 1));
      const before = tf.memory().numTensors;
      for (const loss of ['ce', 'margin', 'dlr'] as const) {
        const fn = attackLoss(loss, labels, null);
        const hostGradient = network.hostGradient(fn)!;
        expect(hostGradient).not.toBeNull();
        const gradient = new Float32Array(x.size).fill(NaN);
        const logits = new Float32Array(n * 10).fill(NaN);
        await hostGradient(x.dataSync() as Float32Array, n, gradient, logits);
        const reference = await network.valueAndGradient(x, fn);
        expect(Array.from(gradient)).toEqual(Array.from(reference.gradient.dataSync()));
        expect(Array.from(logits)).toEqual(Array.from(reference.logits.dataSync()));
        tf.dispose([reference.logits, reference.loss, reference.gradient]);
      }
      expect(tf.memory().numTensors).toBe(before);
      tf.dispose([x, x0]);
      network.dispose();
      model.dispose();
    });
  }

  it('reads an MLP’s gradient flat, as its last matrix product writes it, and leaves the loss’s value out', async () => {
    const model = await bundledModel('mlp');
    const graph = classifier(model).graph!()!;
    const head = { kind: 'gradient', loss: lossKindOf(lossSpecOf(attackLoss('ce', Int32Array.of(0), null))!) } as const;
    const decoded = onnxProto.onnx.ModelProto.decode(emitModel(graph, head, 'conv-transpose'));
    const outputs = decoded.graph!.output!.map((o) => [o.name, o.type!.tensorType!.shape!.dim!.map((d) => d.dimValue ? Number(d.dimValue) : d.dimParam)]);
    expect(outputs).toEqual([['logits', ['N', 10]], ['gradient', ['N', 784]]]);
    expect(gradientShape(graph)).toEqual([784]);
    // What only the loss's value reads is not emitted: no log-sum-exp, and every initializer is read.
    const ops = decoded.graph!.node!.map((n) => n.opType);
    expect(ops).not.toContain('ReduceLogSumExp');
    const read = new Set(decoded.graph!.node!.flatMap((n) => n.input!));
    expect(decoded.graph!.initializer!.every((t) => read.has(t.name!))).toBe(true);
    // The gradient is the product itself, renamed: no reshape between.
    const producer = (name: string) => decoded.graph!.node!.find((n) => n.output!.includes(name))!;
    expect(producer(producer('gradient').input![0]!).opType).toBe('MatMul');
    // A CNN reads its input through a convolution: its gradient keeps the input's shape.
    const cnn = await bundledModel('cnn');
    expect(gradientShape(classifier(cnn).graph!()!)).toEqual([28, 28, 1]);
    cnn.dispose();
    model.dispose();
  });

  it('has no host gradient for a loss without an ONNX form', async () => {
    const model = await bundledModel('mlp');
    const network = (await onnxruntimeNetwork(classifier(model).graph!()!, { threads: 1 })) as OrtNetwork;
    expect(network.hostGradient((z: tf.Tensor2D) => tf.sum(z, 1) as tf.Tensor1D)).toBeNull();
    network.dispose();
    model.dispose();
  });

  for (const name of ['mlp', 'cnn', 'mlp-at']) {
    it(`${name}: PGD's host loop equals PGD through tensors`, async () => {
      const model = await bundledModel(name);
      const tfjs = classifier(model);
      const network = (await onnxruntimeNetwork(tfjs.graph!()!, { threads: 1 })) as OrtNetwork;
      const fused = onnxruntimeClassifier(tfjs, network);
      const plain = withoutHostGradient(fused);
      for (const options of [{ steps: 15 }, { steps: 10, loss: 'dlr' as const, restarts: 2 }, { steps: 10, target: 3 }]) {
        const attack = pgd(options);
        const before = tf.memory().numTensors;
        const stepped = vi.spyOn(network, 'hostGradient');
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
