/**
 * What the GraphModel importer does beyond single ops: constant subgraphs fold away (shape
 * plumbing, arithmetic on weights), weights stay the model's tensors where they can, the input and
 * output are found or named, and what the graph cannot represent is refused with the node and op.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RobustestError } from '../../src/errors.js';
import { importGraphModel } from '../../src/graph/tfjs-graph/index.js';
import { UnsupportedNode } from '../../src/graph/types.js';
import { expectSameAsExecute } from '../fixtures/tfjs-graph/check.js';
import { attr, TinyGraph } from '../fixtures/tfjs-graph/graphdef.js';

const NHWC = { data_format: attr.s('NHWC') };
const CONV = { ...NHWC, strides: attr.ints([1, 1, 1, 1]), dilations: attr.ints([1, 1, 1, 1]), padding: attr.s('VALID') };

function kinds(graph: { nodes: readonly { op: { kind: string } }[] }): string[] {
  return graph.nodes.map((n) => n.op.kind);
}

/** The error a synchronous call throws. */
function thrown(body: () => unknown): unknown {
  try {
    body();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}

describe('the GraphModel importer', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  it('folds a Flatten written as Shape → StridedSlice → Pack → Reshape into one reshape', async () => {
    const g = new TinyGraph();
    const x = g.placeholder([-1, 4, 4, 2]);
    const y = g.op('Conv2D', [x, g.random([3, 3, 2, 3])], CONV);
    const shape = g.op('Shape', [y], { out_type: attr.type('DT_INT32') });
    const batch = g.op('StridedSlice', [shape, g.ints([0]), g.ints([1]), g.ints([1])], { shrink_axis_mask: attr.i(1) });
    const target = g.op('Pack', [batch, g.ints([-1], [])], { axis: attr.i(0), N: attr.i(2) });
    const flat = g.op('Reshape', [y, target]);
    const logits = g.op('MatMul', [flat, g.random([12, 4])], { transpose_a: attr.b(false), transpose_b: attr.b(false) });
    const model = await g.load();
    const graph = await expectSameAsExecute(model, { logits, inputShape: [4, 4, 2] });
    expect(kinds(graph)).toEqual(['conv2d', 'reshape', 'dense']);
    graph.dispose();
    model.dispose();
  });

  it('folds arithmetic on weights (a batch norm written as Rsqrt, Mul, Sub) into two constants', async () => {
    const g = new TinyGraph();
    const x = g.placeholder([-1, 3, 3, 2]);
    const variance = [0.5, 2];
    const gamma = [1.5, -0.5];
    const mean = [0.1, -0.3];
    const beta = [0.2, 0.4];
    const scale = g.op('Mul', [g.op('Rsqrt', [g.op('AddV2', [g.constant(variance, [2]), g.constant([0.001], [])])]), g.constant(gamma, [2])]);
    const shift = g.op('Sub', [g.constant(beta, [2]), g.op('Mul', [g.constant(mean, [2]), scale])]);
    const logits = g.op('AddV2', [g.op('Mul', [x, scale]), shift]);
    const model = await g.load();
    const graph = await expectSameAsExecute(model, { logits, inputShape: [3, 3, 2] });
    expect(kinds(graph)).toEqual(['constant', 'binary', 'constant', 'binary']);
    const constants = graph.nodes.filter((n) => n.op.kind === 'constant').map((n) => (n.op.kind === 'constant' ? Array.from(n.op.value.tensor().dataSync()) : []));
    const expectedScale = variance.map((v, i) => gamma[i]! / Math.sqrt(v + 0.001));
    const expectedShift = beta.map((b, i) => b - mean[i]! * expectedScale[i]!);
    constants[0]!.forEach((v, i) => expect(v).toBeCloseTo(expectedScale[i]!, 5));
    constants[1]!.forEach((v, i) => expect(v).toBeCloseTo(expectedShift[i]!, 5));
    graph.dispose();
    model.dispose();
  });

  it('keeps weights used as loaded as the model\'s own tensors, and frees only what it made', async () => {
    const g = new TinyGraph();
    const x = g.placeholder([-1, 5]);
    const kernel = g.random([5, 3]);
    const transposed = g.random([4, 3]);
    const y = g.op('MatMul', [x, kernel], { transpose_a: attr.b(false), transpose_b: attr.b(false) });
    g.op('MatMul', [y, transposed], { transpose_a: attr.b(false), transpose_b: attr.b(true) });
    const model = await g.load();
    const before = tf.memory().numTensors;
    const graph = importGraphModel(model);
    const [first, second] = graph.nodes.map((n) => (n.op.kind === 'dense' ? n.op.kernel : null));
    expect(first!.tensor()).toBe(model.weights[kernel]![0]);
    // transpose_b: a transposed copy the graph owns.
    expect(second!.shape).toEqual([3, 4]);
    expect(second!.tensor()).not.toBe(model.weights[transposed]![0]);
    expect(Array.from(second!.tensor().dataSync())).toEqual(Array.from(tf.tidy(() => tf.transpose(model.weights[transposed]![0]!).dataSync())));
    expect(tf.memory().numTensors).toBe(before + 1);
    graph.dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(model.weights[kernel]![0]!.isDisposed).toBe(false);
    model.dispose();
  });

  it('names the node and the op it cannot import', async () => {
    const g = new TinyGraph();
    const x = g.placeholder([-1, 4, 4, 2]);
    g.op('ResizeBilinear', [x, g.ints([8, 8])], { align_corners: attr.b(false) }, 'upsample');
    const model = await g.load();
    const e = thrown(() => importGraphModel(model));
    expect(e).toBeInstanceOf(UnsupportedNode);
    expect((e as UnsupportedNode).source).toBe('upsample (ResizeBilinear)');
    expect((e as Error).message).toMatch(/ResizeBilinear has no rule/);
    model.dispose();
  });

  it('refuses channels-first convolutions and reshapes that fix the batch size', async () => {
    const g = new TinyGraph();
    const x = g.placeholder([-1, 2, 4, 4]);
    g.op('Conv2D', [x, g.random([3, 3, 2, 3])], { ...CONV, data_format: attr.s('NCHW') }, 'nchw');
    const model = await g.load();
    expect((thrown(() => importGraphModel(model)) as Error).message).toMatch(/^nchw \(Conv2D\): data_format NCHW/);
    model.dispose();

    const h = new TinyGraph();
    h.op('Reshape', [h.placeholder([-1, 4]), h.ints([2, -1])], {}, 'pairs');
    const pairs = await h.load();
    expect((thrown(() => importGraphModel(pairs)) as Error).message).toMatch(/^pairs \(Reshape\): .*fixes the batch size/);
    pairs.dispose();
  });

  it('refuses a constant sized by the batch (Fill of Shape) at that node', async () => {
    const g = new TinyGraph();
    const x = g.placeholder([-1, 3]);
    const zeros = g.op('Fill', [g.op('Shape', [x], { out_type: attr.type('DT_INT32') }), g.constant([0], [])], {}, 'zeros');
    g.op('AddV2', [x, zeros]);
    const model = await g.load();
    expect((thrown(() => importGraphModel(model)) as Error).message).toBe('zeros (Fill): a constant whose shape depends on the batch size');
    model.dispose();
  });

  it('imports the path to a named output, past an unsupported side branch', async () => {
    const g = new TinyGraph();
    const x = g.placeholder([-1, 3]);
    g.op('Relu', [x], {}, 'kept');
    g.op('Unique', [x], {}, 'side');
    const model = await g.load();
    const e = thrown(() => importGraphModel(model));
    expect(e).toBeInstanceOf(RobustestError);
    expect((e as RobustestError).code).toBe('INVALID_OPTION');
    expect((e as RobustestError).received).toBe('kept, side');
    const graph = importGraphModel(model, { output: 'kept' });
    expect(kinds(graph)).toEqual(['activation']);
    graph.dispose();
    model.dispose();
  });

  it('follows a SavedModel signature to its input and output tensors', async () => {
    const g = new TinyGraph();
    const x = g.placeholder([-1, 3], 'serving_x');
    g.placeholder([-1, 3], 'unused_input');
    g.op('Relu', [x], {}, 'probe');
    g.op('Tanh', [x], {}, 'scores');
    const model = await g.load({ inputs: { x: { name: 'serving_x:0' } }, outputs: { y: { name: 'scores:0' } } });
    const graph = importGraphModel(model);
    expect(graph.nodes.map((n) => n.source)).toEqual(['scores (Tanh)']);
    graph.dispose();
    model.dispose();
  });

  it('asks for the per-sample shape when the input leaves it open, and checks the one given', async () => {
    const g = new TinyGraph();
    const x = g.placeholder([-1, -1, -1, 2]);
    g.op('Mean', [x, g.ints([1, 2])], { keep_dims: attr.b(false) });
    const model = await g.load();
    const open = thrown(() => importGraphModel(model)) as RobustestError;
    expect(open.code).toBe('INVALID_OPTION');
    expect(open.received).toBe('[?, ?, ?, 2]');
    expect((thrown(() => importGraphModel(model, { inputShape: [5, 5, 3] })) as RobustestError).code).toBe('INVALID_OPTION');
    const graph = importGraphModel(model, { inputShape: [5, 6, 2] });
    expect(graph.shapes[graph.output]).toEqual([2]);
    graph.dispose();
    model.dispose();
  });

  it('refuses what is not a loaded GraphModel with a typed error', () => {
    const e = thrown(() => importGraphModel({ weights: {} })) as RobustestError;
    expect(e).toBeInstanceOf(RobustestError);
    expect(e.code).toBe('INVALID_MODEL');
  });
});
