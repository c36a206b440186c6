/**
 * The ONNX importer's structure and refusals: which graph nodes each fixture becomes (layouts,
 * filters, folded shape arithmetic, fused GELU), tensor ownership, and clear errors for
 * truncated files, unsupported ops, external weights and inputs without a fixed shape.
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { RobustestError } from '../../src/errors.js';
import { importOnnx } from '../../src/graph/onnx/index.js';
import { UnsupportedNode, type ModelGraph, type Op, type OpKind } from '../../src/graph/types.js';
import { floatTensor, model, onnx } from '../fixtures/onnx/graph/build.js';
import { fixtureBytes } from '../fixtures/onnx/graph/oracle.js';

function kinds(graph: ModelGraph): OpKind[] {
  return graph.nodes.map((n) => n.op.kind);
}

function ops<K extends OpKind>(graph: ModelGraph, kind: K): Extract<Op, { kind: K }>[] {
  return graph.nodes.map((n) => n.op).filter((op): op is Extract<Op, { kind: K }> => op.kind === kind);
}

function caught(body: () => unknown): unknown {
  try {
    body();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('importOnnx: graph structure', () => {
  it('holds NCHW images NHWC: OIHW filters become HWIO, group == channels becomes depthwise', () => {
    const graph = importOnnx(fixtureBytes('conv.onnx'), { layout: 'nchw' });
    expect(graph.format).toBe('onnx');
    expect(graph.shapes[graph.input]).toEqual([9, 10, 3]);
    const convs = graph.nodes.filter((n) => n.op.kind === 'conv2d' || n.op.kind === 'depthwiseConv2d');
    expect(convs.map((n) => [n.op.kind, (n.op as Extract<Op, { kind: 'conv2d' }>).filter.shape])).toEqual([
      ['conv2d', [3, 3, 3, 8]],
      ['conv2d', [3, 3, 8, 8]],
      ['depthwiseConv2d', [3, 3, 8, 2]],
      ['conv2d', [1, 3, 16, 4]],
    ]);
    expect(convs.map((n) => graph.shapes[n.output])).toEqual([
      [5, 5, 8],
      [5, 5, 8],
      [5, 5, 16],
      [5, 3, 4],
    ]);
    const [first, second] = ops(graph, 'conv2d');
    expect(first!.strides).toEqual([2, 2]);
    expect(first!.padding).toEqual([1, 1, 1, 1]);
    expect(second!.dilations).toEqual([2, 2]);
    expect(second!.bias).toBeNull();
    // Flatten reads ONNX's C·H·W order, so the image goes back to CHW before the reshape.
    expect(kinds(graph).slice(-3)).toEqual(['transpose', 'reshape', 'dense']);
    expect(ops(graph, 'transpose')[0]!.perm).toEqual([2, 0, 1]);
    graph.dispose();
  });

  it('maps auto_pad and explicit pads to the graph Padding', () => {
    const graph = importOnnx(fixtureBytes('conv_pads.onnx'), { layout: 'nchw' });
    const paddings = graph.nodes.filter((n) => n.op.kind === 'conv2d' || n.op.kind === 'depthwiseConv2d').map((n) => (n.op as Extract<Op, { kind: 'conv2d' }>).padding);
    // SAME_UPPER is TensorFlow's SAME; SAME_LOWER is explicit; ONNX [t, l, b, r] → [t, b, l, r].
    expect(paddings).toEqual(['same', [0, 0, 1, 1], 'valid', [0, 2, 1, 1], [1, 1, 1, 1]]);
    expect(ops(graph, 'mean')[0]).toEqual({ kind: 'mean', axes: [0, 1], keepDims: true });
    // [C, 1, 1] has the same memory order as [1, 1, C]: the flatten is a plain reshape.
    expect(kinds(graph).slice(-2)).toEqual(['mean', 'reshape']);
    graph.dispose();
  });

  it('takes tf2onnx-style NHWC models as they are: their transposes cancel against the layout', () => {
    const graph = importOnnx(fixtureBytes('nhwc_input.onnx'), { layout: 'nhwc' });
    expect(graph.shapes[graph.input]).toEqual([5, 4, 3]);
    expect(kinds(graph)).toEqual(['conv2d', 'activation', 'reshape', 'dense']);
    graph.dispose();
  });

  it('folds PyTorch shape arithmetic (Shape → Gather → Unsqueeze → Concat → Reshape) into static reshapes and peels the softmax', () => {
    const graph = importOnnx(fixtureBytes('shape.onnx'), { layout: 'nchw' });
    expect(graph.peeledSoftmax).toBe(true);
    expect(kinds(graph)).not.toContain('softmax');
    expect(kinds(graph)).not.toContain('opaque');
    expect(ops(graph, 'reshape').map((r) => r.shape)).toContainEqual([216]);
    expect(ops(graph, 'pad')[0]).toEqual({ kind: 'pad', pads: [[0, 1], [1, 2], [0, 0]], value: 0.5 });
    expect(graph.shapes[graph.output]).toEqual([4]);
    graph.dispose();
  });

  it('reads activations: Clip as clip, the Erf pattern as exact GELU, PRelu per channel as max/min', () => {
    const graph = importOnnx(fixtureBytes('activations.onnx'), { layout: 'nchw' });
    const fns = ops(graph, 'activation').map((a) => a.activation);
    expect(fns).toContainEqual({ fn: 'clip', min: 0, max: 6 });
    expect(fns).toContainEqual({ fn: 'leakyRelu', alpha: expect.closeTo(0.1, 6) });
    expect(fns).toContainEqual({ fn: 'leakyRelu', alpha: expect.closeTo(0.2, 6) });
    expect(fns).toContainEqual({ fn: 'gelu', approximate: false });
    expect(fns).toContainEqual({ fn: 'hardSwish' });
    expect(fns).toContainEqual({ fn: 'hardSigmoid', alpha: expect.closeTo(1 / 6, 6), beta: 0.5 });
    expect(fns.map((a) => a.fn)).toEqual(expect.arrayContaining(['sigmoid', 'tanh', 'elu', 'softplus']));
    const binaries = ops(graph, 'binary').map((b) => b.fn);
    expect(binaries).toEqual(expect.arrayContaining(['max', 'min']));
    graph.dispose();
  });

  it('keeps BatchNormalization nodes over the channel axis, NCHW and [N, C]', () => {
    const graph = importOnnx(fixtureBytes('norm_pool.onnx'), { layout: 'nchw' });
    const norms = graph.nodes.filter((n) => n.op.kind === 'batchNorm');
    expect(norms.map((n) => graph.shapes[n.inputs[0]!])).toEqual([[13, 11, 3], [9]]);
    expect((norms[0]!.op as Extract<Op, { kind: 'batchNorm' }>).epsilon).toBeCloseTo(1e-3, 9);
    // ceil_mode as extra bottom/right padding, count_include_pad as an explicit zero pad.
    expect(ops(graph, 'maxPool')[0]!.padding).toEqual([1, 1, 0, 2]);
    expect(kinds(graph)).toContain('pad');
    expect(ops(graph, 'avgPool').every((p) => !p.countPadding)).toBe(true);
    graph.dispose();
  });

  it('slices grouped convolutions apart and Split into slices; a channel shuffle stays exact', () => {
    const graph = importOnnx(fixtureBytes('grouped.onnx'), { layout: 'nchw' });
    const slices = graph.nodes.filter((n) => n.op.kind === 'slice').map((n) => [(n.op as Extract<Op, { kind: 'slice' }>).begin, graph.shapes[n.output]]);
    expect(slices).toEqual([
      [[0, 0, 0], [6, 5, 2]],
      [[0, 0, 2], [6, 5, 2]],
      [[0, 0, 4], [6, 5, 2]],
      [[0, 0, 6], [6, 5, 2]],
      [[0, 0, 0], [6, 5, 6]],
      [[0, 0, 6], [6, 5, 6]],
    ]);
    expect(ops(graph, 'conv2d').map((c) => c.filter.shape)).toEqual([[3, 3, 3, 8], ...new Array(4).fill([3, 3, 2, 3]), [1, 1, 6, 6]]);
    expect(ops(graph, 'concat').map((c) => c.axis)).toEqual([2, 2]);
    graph.dispose();
  });

  it('reads float16, bfloat16 and float64 weights and int64 shapes from raw_data and the typed fields', () => {
    const graph = importOnnx(fixtureBytes('encodings.onnx'), { layout: 'nchw' });
    expect(kinds(graph)).toEqual(['reshape', 'dense', 'dense', 'constant', 'binary']);
    const bias = ops(graph, 'constant')[0]!.value;
    expect(Array.from(bias.tensor().dataSync())).toEqual([0.5, -1.25, 3]);
    graph.dispose();
  });

  it('reads a Node Buffer as it comes from readFileSync (raw_data are views into its memory) and an ArrayBuffer', () => {
    const bytes = fixtureBytes('resnet_like.onnx');
    const fromBuffer = importOnnx(readFileSync(fileURLToPath(new URL('../fixtures/onnx/graph/resnet_like.onnx', import.meta.url))), { layout: 'nchw' });
    const fromArray = importOnnx(bytes, { layout: 'nchw' });
    const filters = (g: ModelGraph) => ops(g, 'conv2d').map((c) => Array.from(c.filter.tensor().dataSync()));
    expect(filters(fromBuffer)).toEqual(filters(fromArray));
    const fromArrayBuffer = importOnnx(bytes.slice().buffer, { layout: 'nchw' });
    expect(filters(fromArrayBuffer)).toEqual(filters(fromArray));
    fromArrayBuffer.dispose();
    fromBuffer.dispose();
    fromArray.dispose();
  });

  it('leaves tf.memory() unchanged; weights are made on first use and freed by dispose()', () => {
    const before = tf.memory().numTensors;
    const graph = importOnnx(fixtureBytes('resnet_like_bn.onnx'), { layout: 'nchw' });
    expect(tf.memory().numTensors).toBe(before);
    expect(ops(graph, 'batchNorm')).toHaveLength(6);
    const weights = ops(graph, 'conv2d').map((c) => c.filter.tensor());
    expect(tf.memory().numTensors).toBe(before + weights.length);
    graph.dispose();
    expect(weights.every((w) => w.isDisposed)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('imports the same file to the same graph every time', () => {
    const a = importOnnx(fixtureBytes('mobilenet_like.onnx'), { layout: 'nchw' });
    const b = importOnnx(fixtureBytes('mobilenet_like.onnx'), { layout: 'nchw' });
    expect(a.shapes).toEqual(b.shapes);
    expect(a.nodes.map((n) => [n.op.kind, n.inputs, n.output, n.source])).toEqual(b.nodes.map((n) => [n.op.kind, n.inputs, n.output, n.source]));
  });
});

describe('importOnnx: refusals', () => {
  const relu = (extra: Partial<Parameters<typeof model>[0]> = {}) => model({ nodes: [{ op: 'Relu', inputs: ['input'], outputs: ['output'] }], inputDims: [4], ...extra });

  it('refuses truncated bytes and other formats with INVALID_MODEL', () => {
    const bytes = fixtureBytes('resnet_like.onnx');
    for (const cut of [bytes.subarray(0, bytes.length - 100), bytes.subarray(0, 40), new TextEncoder().encode('{"format": "layers-model"}')]) {
      const error = caught(() => importOnnx(cut)) as RobustestError;
      expect(error).toBeInstanceOf(RobustestError);
      expect(error.code).toBe('INVALID_MODEL');
      expect(error.message).toMatch(/ONNX/);
    }
    expect((caught(() => importOnnx('model.onnx' as unknown as Uint8Array)) as RobustestError).code).toBe('INVALID_MODEL');
  });

  it('names the node and op type it has no rule for', () => {
    const bytes = model({ nodes: [{ op: 'Relu', inputs: ['input'], outputs: ['r'] }, { op: 'LpNormalization', inputs: ['r'], outputs: ['output'] }], inputDims: [4] });
    const error = caught(() => importOnnx(bytes)) as UnsupportedNode;
    expect(error).toBeInstanceOf(UnsupportedNode);
    expect(error.source).toBe("LpNormalization 'lpnormalization_1'");
    expect(error.message).toMatch(/ONNX op LpNormalization \(opset 13\) has no graph rule/);
  });

  it('refuses an Erf outside the GELU pattern, ConvTranspose and ops of other domains', () => {
    const erf = model({ nodes: [{ op: 'Erf', inputs: ['input'], outputs: ['output'] }], inputDims: [4] });
    expect((caught(() => importOnnx(erf)) as UnsupportedNode).source).toBe("Erf 'erf_0'");
    const transposed = model({
      nodes: [{ op: 'ConvTranspose', inputs: ['input', 'w'], outputs: ['output'] }],
      inputDims: [4, 5, 5],
      initializers: [floatTensor('w', [4, 2, 1, 1], new Array(8).fill(0.5))],
    });
    expect((caught(() => importOnnx(transposed, { layout: 'nchw' })) as UnsupportedNode).source).toBe("ConvTranspose 'convtranspose_0'");
    const custom = model({ nodes: [{ op: 'FusedConv', domain: 'com.microsoft', inputs: ['input'], outputs: ['output'] }], inputDims: [4] });
    expect((caught(() => importOnnx(custom)) as UnsupportedNode).message).toMatch(/domain 'com.microsoft'/);
  });

  it('ignores unsupported nodes the chosen output does not depend on', () => {
    const bytes = model({ nodes: [{ op: 'Erf', inputs: ['input'], outputs: ['unused'] }, { op: 'Relu', inputs: ['input'], outputs: ['output'] }], inputDims: [4] });
    expect(kinds(importOnnx(bytes))).toEqual(['activation']);
  });

  it('refuses weights stored outside the file, naming the tensor and the file', () => {
    const proto = onnx.ModelProto.decode(model({ nodes: [{ op: 'MatMul', inputs: ['input', 'w'], outputs: ['output'] }], inputDims: [2], initializers: [floatTensor('w', [2, 2], [1, 2, 3, 4])] }));
    const w = proto.graph!.initializer![0]! as InstanceType<typeof onnx.TensorProto>;
    w.floatData = [];
    w.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    w.externalData = [onnx.StringStringEntryProto.create({ key: 'location', value: 'weights.bin' })];
    const error = caught(() => importOnnx(onnx.ModelProto.encode(proto).finish())) as RobustestError;
    expect(error.code).toBe('INVALID_MODEL');
    expect(error.message).toMatch(/tensor 'w' keeps its values outside the model file \(in 'weights.bin'\)/);
    expect(error.expected).toMatch(/save_as_external_data=False/);
  });

  it('needs a fixed per-sample input shape, from the model or from inputShape', () => {
    const dynamic = model({ nodes: [{ op: 'GlobalAveragePool', inputs: ['input'], outputs: ['g'] }, { op: 'Flatten', inputs: ['g'], outputs: ['output'] }], inputDims: [3, 'height', 'width'] });
    const error = caught(() => importOnnx(dynamic, { layout: 'nchw' })) as RobustestError;
    expect(error.code).toBe('INVALID_SHAPE');
    expect(error.received).toBe('[batch, 3, height, width]');
    const graph = importOnnx(dynamic, { layout: 'nchw', inputShape: [8, 6, 3] });
    expect(graph.shapes[graph.input]).toEqual([8, 6, 3]);
    expect(graph.shapes[graph.output]).toEqual([3]);
    expect((caught(() => importOnnx(dynamic, { layout: 'nchw', inputShape: [8, 6, 4] })) as RobustestError).code).toBe('INVALID_SHAPE');
  });

  it('refuses non-float inputs and unknown options with typed errors', () => {
    expect((caught(() => importOnnx(relu({ inputType: onnx.TensorProto.DataType.INT64 }))) as RobustestError).code).toBe('INVALID_MODEL');
    expect((caught(() => importOnnx(relu(), { layout: 'chw' as 'nchw' })) as RobustestError).code).toBe('INVALID_OPTION');
    expect((caught(() => importOnnx(relu(), { inputShape: [0, 4] })) as RobustestError).code).toBe('INVALID_OPTION');
    expect((caught(() => importOnnx(relu(), { outputName: 'logits' })) as RobustestError).message).toMatch(/no output 'logits'/);
  });
});
