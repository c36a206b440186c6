/**
 * A real converted model: nsfwjs's MobileNetV2Mid GraphModel (uint8-quantized weights, fused
 * convolutions with Relu6, a fused MatMul head, Softmax). Its imported graph, compiled by the tfjs
 * engine on wasm, gives model.execute's logits on two images within 1e-5 relative. (Its input
 * gradient against tf.grad on the cpu backend takes minutes; bench/graphmodel.ts measures it.)
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileGraph } from '../../src/engine/tfjs/compile.js';
import { importGraphModel } from '../../src/graph/tfjs-graph/index.js';
import type { ModelGraph } from '../../src/graph/types.js';
import { relativeError } from '../support/graph-reference.js';
import { loadMobileNetV2Mid, MOBILENET_MID_LOGITS } from '../fixtures/tfjs-graph/nsfwjs.js';

describe('nsfwjs MobileNetV2Mid (GraphModel)', () => {
  let model: tf.GraphModel;
  let graph: ModelGraph;

  beforeAll(async () => {
    await tf.setBackend('wasm');
    model = await loadMobileNetV2Mid();
    const before = tf.memory().numTensors;
    graph = importGraphModel(model);
    expect(tf.memory().numTensors, 'tensors made by the import').toBe(before);
  });
  afterAll(() => {
    graph.dispose();
    model.dispose();
  });

  it('imports every node: 35 convolutions, 17 depthwise convolutions, residual adds, pooling, the dense head', () => {
    const count = (kind: string) => graph.nodes.filter((n) => n.op.kind === kind).length;
    expect(count('conv2d')).toBe(35);
    expect(count('depthwiseConv2d')).toBe(17);
    expect(count('dense')).toBe(1);
    expect(count('avgPool')).toBe(1);
    expect(count('opaque')).toBe(0);
    // The input scaling (x·a − b) and ten residual connections.
    expect(count('binary')).toBe(12);
    expect(graph.peeledSoftmax).toBe(true);
    expect(graph.shapes[graph.input]).toEqual([224, 224, 3]);
    expect(graph.shapes[graph.output]).toEqual([5]);
  });

  it('gives model.execute\'s logits on two images', () => {
    const network = compileGraph(graph);
    const x = tf.tidy(() => tf.image.resizeBilinear(tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 11) as tf.Tensor4D, [224, 224]));
    const expected = tf.tidy(() => (model.execute(x, MOBILENET_MID_LOGITS) as tf.Tensor).dataSync());
    const before = tf.memory().numTensors;
    const logits = network.forward(x);
    expect(logits.shape).toEqual([2, 5]);
    expect(relativeError(logits.dataSync(), expected)).toBeLessThan(1e-5);
    logits.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
