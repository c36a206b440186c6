/**
 * The host buffers the onnxruntime executor lends to its calls (src/engine/onnxruntime/buffers.ts)
 * and readInto (src/engine/tfjs/host-memory.ts): a buffer is never lent twice at once, one given
 * back is lent again (whole or as a prefix), and concurrent executor calls, each with its own
 * buffers, give exactly what the same calls give one after another.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifier, ensureBackend } from '../../src/index.js';
import { borrow, giveBack } from '../../src/engine/buffers.js';
import { onnxruntimeNetwork, type OrtNetwork } from '../../src/engine/onnxruntime/index.js';
import { readInto } from '../../src/engine/tfjs/host-memory.js';
import { attackLoss } from '../../src/attacks/losses.js';
import { mnistSamples } from '../../examples/mnist/models.js';
import { bundledModel } from './onnxruntime-bundled.js';

let digits: { inputs: tf.Tensor4D; labels: number[] };
beforeAll(async () => {
  await ensureBackend();
  digits = mnistSamples(24);
});
afterAll(() => digits?.inputs.dispose());

describe('lent host buffers', () => {
  it('are never lent twice at once, and are lent again once given back', () => {
    const a = borrow(1000);
    const b = borrow(1000);
    expect(a.buffer).not.toBe(b.buffer);
    expect(a.length).toBe(1000);
    giveBack(a);
    // A smaller request reuses the idle buffer as a prefix view of the right length.
    const c = borrow(300);
    expect(c.buffer).toBe(a.buffer);
    expect(c.length).toBe(300);
    // Given back as a view, the whole buffer is idle again.
    giveBack(c);
    const d = borrow(1000);
    expect(d.buffer).toBe(a.buffer);
    giveBack(b, d);
    // Giving the same buffer back twice does not make it lendable twice.
    const e = borrow(1000);
    giveBack(e);
    giveBack(e);
    const [f, g] = [borrow(1000), borrow(1000)];
    expect(f.buffer).not.toBe(g.buffer);
    giveBack(f, g);
  });

  it('readInto copies what dataSync gives, on wasm and on cpu', async () => {
    for (const backend of ['wasm', 'cpu']) {
      await tf.setBackend(backend);
      const t = tf.tensor([1.5, -2, 3.25, 0, 7], [5]);
      const ints = tf.tensor([1, 2, 3], [3], 'int32');
      expect(Array.from(readInto(t, new Float32Array(5)))).toEqual([1.5, -2, 3.25, 0, 7]);
      expect(Array.from(readInto(ints, new Float32Array(3)))).toEqual([1, 2, 3]);
      tf.dispose([t, ints]);
    }
    await ensureBackend();
  });
});

describe('the onnxruntime executor on lent buffers', () => {
  it('concurrent calls give exactly the results of the same calls in sequence, and leave no tensors', async () => {
    const model = await bundledModel('mlp');
    const network = (await onnxruntimeNetwork(classifier(model).graph!()!, { threads: 1 })) as OrtNetwork;
    const parts = [0, 8, 16].map((start) => ({
      x: tf.slice(digits.inputs, start, 8 - start / 8),
      labels: Int32Array.from(digits.labels.slice(start, start + 8 - start / 8)),
    }));
    const read = async (p: (typeof parts)[number]) => {
      const loss = attackLoss('dlr', p.labels, null);
      const [logits, grad] = await Promise.all([network.forward(p.x), network.valueAndGradient(p.x, loss)]);
      const out = [logits, grad.logits, grad.loss, grad.gradient].map((t) => Array.from(t.dataSync()));
      tf.dispose([logits, grad.logits, grad.loss, grad.gradient]);
      return out;
    };
    const before = tf.memory().numTensors;
    const sequential = [];
    for (const p of parts) sequential.push(await read(p));
    const concurrent = await Promise.all(parts.map(read));
    expect(concurrent).toEqual(sequential);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(parts.map((p) => p.x));
    network.dispose();
  });
});
