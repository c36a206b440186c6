/**
 * The GraphModel importer, one op family at a time: small GraphModels written as converted
 * GraphDefs and loaded with tf.loadGraphModel; the imported graph, compiled by the tfjs engine,
 * gives the logits of model.execute within 1e-5 relative and the input gradient of tf.grad
 * through model.execute (cpu backend) within 1e-4 relative, on cpu and on wasm.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectSameAsExecute } from '../fixtures/tfjs-graph/check.js';
import { attr, TinyGraph } from '../fixtures/tfjs-graph/graphdef.js';
import type { OpKind } from '../../src/graph/types.js';

const NHWC = { data_format: attr.s('NHWC') };

function conv(g: TinyGraph, x: string, k: number, cin: number, cout: number, options: { stride?: number; padding?: string; dilation?: number; explicit?: number[]; op?: string; fused?: string[]; args?: string[]; extra?: Record<string, Record<string, unknown>> } = {}): string {
  const s = options.stride ?? 1;
  const d = options.dilation ?? 1;
  const attrs = {
    ...NHWC,
    strides: attr.ints([1, s, s, 1]),
    dilations: attr.ints([1, d, d, 1]),
    padding: attr.s(options.padding ?? 'VALID'),
    ...(options.explicit ? { explicit_paddings: attr.ints(options.explicit) } : {}),
    ...(options.fused ? { fused_ops: attr.strings(options.fused), num_args: attr.i(options.args!.length) } : {}),
    ...options.extra,
  };
  return g.op(options.op ?? 'Conv2D', [x, g.random([k, k, cin, cout])], attrs);
}

function depthwise(g: TinyGraph, x: string, k: number, cin: number, multiplier: number, options: { stride?: number; padding?: string; explicit?: number[]; op?: string; fused?: string[]; args?: string[] } = {}): string {
  const s = options.stride ?? 1;
  const attrs = {
    ...NHWC,
    strides: attr.ints([1, s, s, 1]),
    dilations: attr.ints([1, 1, 1, 1]),
    padding: attr.s(options.padding ?? 'VALID'),
    ...(options.explicit ? { explicit_paddings: attr.ints(options.explicit) } : {}),
    ...(options.fused ? { fused_ops: attr.strings(options.fused), num_args: attr.i(options.args!.length) } : {}),
  };
  return g.op(options.op ?? 'DepthwiseConv2dNative', [x, g.random([k, k, cin, multiplier]), ...(options.args ?? [])], attrs);
}

function fusedConv(g: TinyGraph, x: string, cin: number, cout: number, fused: string[], extra: Record<string, Record<string, unknown>> = {}): string {
  const args = [g.random([cout])];
  if (fused.includes('Prelu')) args.push(g.random([cout], 0.05, 0.5));
  const attrs = { ...NHWC, strides: attr.ints([1, 1, 1, 1]), dilations: attr.ints([1, 1, 1, 1]), padding: attr.s('SAME'), fused_ops: attr.strings(fused), num_args: attr.i(args.length), ...extra };
  return g.op('_FusedConv2D', [x, g.random([3, 3, cin, cout]), ...args], attrs);
}

function pool(g: TinyGraph, op: 'AvgPool' | 'MaxPool', x: string, k: number, s: number, padding: string): string {
  return g.op(op, [x], { ...NHWC, ksize: attr.ints([1, k, k, 1]), strides: attr.ints([1, s, s, 1]), padding: attr.s(padding) });
}

/** [N, ...] to [N, size]. */
function flatten(g: TinyGraph, x: string, size: number): string {
  return g.op('Reshape', [x, g.ints([-1, size])]);
}

interface Case {
  name: string;
  inputShape: number[];
  positive?: boolean;
  /** Builds on the input placeholder; returns the node the graph's output must equal. */
  build(g: TinyGraph, x: string): string;
  /** Node kinds the imported graph must contain. */
  kinds?: OpKind[];
  /**
   * The same function written with ops tf.grad differentiates correctly, for the reference:
   * tfjs has no gradient for StridedSlice or dilated Conv2D, and its average pooling gradient
   * divides by the whole window where SAME padding cuts it.
   */
  twin?(g: TinyGraph, x: string, main: TinyGraph, output: string): string;
  /** Ends the model in Softmax and Identity after the logits: the importer must peel it. */
  softmax?: boolean;
}

/** The i-th input of `node` in `main`, a Const, copied into `g`. */
function copied(g: TinyGraph, main: TinyGraph, node: string, i: number): string {
  const { values, shape } = main.constValues(main.inputsOf(node)[i]!);
  return g.constant(values, shape);
}

const CONV_SAME = { ...NHWC, strides: attr.ints([1, 1, 1, 1]), dilations: attr.ints([1, 1, 1, 1]), padding: attr.s('SAME') };

/** A k×k filter with d − 1 zeros between taps: the undilated twin of a dilated one. */
function dilatedFilter(values: ArrayLike<number>, shape: number[], d: number): { values: Float32Array; shape: number[] } {
  const [k, , cin, cout] = shape as [number, number, number, number];
  const kd = (k - 1) * d + 1;
  const out = new Float32Array(kd * kd * cin * cout);
  for (let r = 0; r < k; r++) for (let c = 0; c < k; c++) for (let i = 0; i < cin * cout; i++) out[((r * d * kd + c * d) * cin * cout) + i] = values[(r * k + c) * cin * cout + i]!;
  return { values: out, shape: [kd, kd, cin, cout] };
}

const CASES: Case[] = [
  {
    name: 'Conv2D VALID, BiasAdd, Relu, Reshape, MatMul, BiasAdd (Softmax peeled)',
    inputShape: [6, 6, 2],
    softmax: true,
    kinds: ['conv2d', 'activation', 'reshape', 'dense', 'binary', 'constant'],
    build: (g, x) => {
      const y = g.op('Relu', [g.op('BiasAdd', [conv(g, x, 3, 2, 3), g.random([3])], NHWC)]);
      const flat = g.op('Reshape', [y, g.ints([-1, 48])]);
      return g.op('BiasAdd', [g.op('MatMul', [flat, g.random([48, 4])], { transpose_a: attr.b(false), transpose_b: attr.b(false) }), g.random([4])]);
    },
  },
  { name: 'Conv2D SAME stride 2, odd size (pads 1, 1)', inputShape: [7, 7, 2], kinds: ['conv2d'], build: (g, x) => conv(g, x, 3, 2, 3, { stride: 2, padding: 'SAME' }) },
  { name: 'Conv2D SAME stride 2, even size (pads 0, 1)', inputShape: [6, 8, 2], kinds: ['conv2d'], build: (g, x) => conv(g, x, 3, 2, 3, { stride: 2, padding: 'SAME' }) },
  {
    name: 'Conv2D dilation 2',
    inputShape: [7, 7, 2],
    kinds: ['conv2d'],
    build: (g, x) => conv(g, x, 3, 2, 3, { dilation: 2, padding: 'SAME' }),
    twin: (g, x, main, output) => {
      const filter = main.constValues(main.inputsOf(output)[1]!);
      const dilated = dilatedFilter(filter.values, filter.shape, 2);
      const attrs = { ...NHWC, strides: attr.ints([1, 1, 1, 1]), dilations: attr.ints([1, 1, 1, 1]), padding: attr.s('SAME') };
      return g.op('Conv2D', [x, g.constant(dilated.values, dilated.shape)], attrs);
    },
  },
  { name: 'Conv2D EXPLICIT paddings', inputShape: [5, 5, 2], kinds: ['conv2d'], build: (g, x) => conv(g, x, 3, 2, 3, { padding: 'EXPLICIT', explicit: [0, 0, 2, 1, 0, 1, 0, 0] }) },
  ...(['Relu', 'Relu6', 'Elu', 'Sigmoid'] as const).map((a) => ({
    name: `_FusedConv2D [BiasAdd, ${a}]`,
    inputShape: [5, 5, 2],
    kinds: ['conv2d', 'activation'] as OpKind[],
    build: (g: TinyGraph, x: string) => fusedConv(g, x, 2, 3, ['BiasAdd', a]),
  })),
  {
    name: '_FusedConv2D [FusedBatchNorm, Relu] (tfjs cannot run it: against Conv2D, FusedBatchNormV3, Relu)',
    inputShape: [5, 5, 2],
    kinds: ['conv2d', 'batchNorm', 'activation'],
    build: (g, x) => {
      const args = [g.random([3], 0.5, 1.5), g.random([3]), g.random([3]), g.random([3], 0.5, 1.5)];
      return g.op('_FusedConv2D', [x, g.random([3, 3, 2, 3]), ...args], { ...CONV_SAME, fused_ops: attr.strings(['FusedBatchNorm', 'Relu']), num_args: attr.i(4), epsilon: attr.f(0.001) });
    },
    twin: (g, x, main, output) => {
      const y = g.op('Conv2D', [x, copied(g, main, output, 1)], CONV_SAME);
      const bn = g.op('FusedBatchNormV3', [y, ...[2, 3, 4, 5].map((i) => copied(g, main, output, i))], { ...NHWC, epsilon: attr.f(0.001), is_training: attr.b(false) });
      return g.op('Relu', [bn]);
    },
  },
  {
    name: '_FusedConv2D [BiasAdd, Tanh] (tfjs does not fuse Tanh: against Conv2D, BiasAdd, Tanh)',
    inputShape: [5, 5, 2],
    kinds: ['conv2d', 'activation'],
    build: (g, x) => fusedConv(g, x, 2, 3, ['BiasAdd', 'Tanh']),
    twin: (g, x, main, output) => g.op('Tanh', [g.op('BiasAdd', [g.op('Conv2D', [x, copied(g, main, output, 1)], CONV_SAME), copied(g, main, output, 2)], NHWC)]),
  },
  {
    name: '_FusedConv2D [BiasAdd, Add, Relu] with a residual input (against the unfused ops)',
    inputShape: [5, 5, 3],
    kinds: ['conv2d', 'binary', 'activation'],
    build: (g, x) => g.op('_FusedConv2D', [x, g.random([3, 3, 3, 3]), g.random([3]), x], { ...CONV_SAME, fused_ops: attr.strings(['BiasAdd', 'Add', 'Relu']), num_args: attr.i(2) }),
    twin: (g, x, main, output) => {
      const y = g.op('BiasAdd', [g.op('Conv2D', [x, copied(g, main, output, 1)], CONV_SAME), copied(g, main, output, 2)], NHWC);
      return g.op('Relu', [g.op('AddV2', [y, x])]);
    },
  },
  {
    name: '_FusedMatMul [BiasAdd, Prelu]',
    inputShape: [6],
    kinds: ['dense', 'activation', 'binary'],
    build: (g, x) => g.op('_FusedMatMul', [x, g.random([6, 5]), g.random([5]), g.random([5], 0.1, 0.3)], { transpose_a: attr.b(false), transpose_b: attr.b(false), fused_ops: attr.strings(['BiasAdd', 'Prelu']), num_args: attr.i(2) }),
  },
  { name: '_FusedConv2D [BiasAdd]', inputShape: [5, 5, 2], kinds: ['conv2d'], build: (g, x) => fusedConv(g, x, 2, 3, ['BiasAdd']) },
  { name: '_FusedConv2D [BiasAdd, LeakyRelu] alpha 0.3', inputShape: [5, 5, 2], kinds: ['conv2d', 'activation'], build: (g, x) => fusedConv(g, x, 2, 3, ['BiasAdd', 'LeakyRelu'], { leakyrelu_alpha: attr.f(0.3) }) },
  { name: '_FusedConv2D [BiasAdd, Prelu] per-channel alpha', inputShape: [5, 5, 2], kinds: ['conv2d', 'activation', 'binary'], build: (g, x) => fusedConv(g, x, 2, 3, ['BiasAdd', 'Prelu']) },
  { name: 'DepthwiseConv2dNative SAME stride 2, multiplier 2', inputShape: [7, 7, 3], kinds: ['depthwiseConv2d'], build: (g, x) => depthwise(g, x, 3, 3, 2, { stride: 2, padding: 'SAME' }) },
  { name: 'DepthwiseConv2dNative SAME stride 2, even size (pads 0, 1)', inputShape: [8, 6, 3], kinds: ['depthwiseConv2d'], build: (g, x) => depthwise(g, x, 3, 3, 1, { stride: 2, padding: 'SAME' }) },
  {
    name: 'FusedDepthwiseConv2dNative [BiasAdd, Relu6] SAME stride 2, even size, 48 channels',
    inputShape: [8, 8, 48],
    kinds: ['depthwiseConv2d', 'activation'],
    build: (g, x) => depthwise(g, x, 3, 48, 1, { op: 'FusedDepthwiseConv2dNative', stride: 2, padding: 'SAME', fused: ['BiasAdd', 'Relu6'], args: [g.random([48], 0, 2)] }),
  },
  { name: 'DepthwiseConv2dNative EXPLICIT paddings', inputShape: [5, 5, 2], kinds: ['depthwiseConv2d'], build: (g, x) => depthwise(g, x, 3, 2, 1, { padding: 'EXPLICIT', explicit: [0, 0, 1, 2, 2, 0, 0, 0] }) },
  {
    name: 'FusedDepthwiseConv2dNative [BiasAdd, Relu6]',
    inputShape: [6, 6, 3],
    kinds: ['depthwiseConv2d', 'activation'],
    build: (g, x) => depthwise(g, x, 3, 3, 1, { op: 'FusedDepthwiseConv2dNative', fused: ['BiasAdd', 'Relu6'], args: [g.random([3], 1, 3)] }),
  },
  {
    name: 'MatMul transpose_b',
    inputShape: [6],
    kinds: ['dense'],
    build: (g, x) => g.op('MatMul', [x, g.random([4, 6])], { transpose_a: attr.b(false), transpose_b: attr.b(true) }),
  },
  {
    name: '_FusedMatMul [BiasAdd, Relu]',
    inputShape: [6],
    kinds: ['dense', 'activation'],
    build: (g, x) => g.op('_FusedMatMul', [x, g.random([6, 5]), g.random([5])], { transpose_a: attr.b(false), transpose_b: attr.b(false), fused_ops: attr.strings(['BiasAdd', 'Relu']), num_args: attr.i(1) }),
  },
  {
    name: 'BatchMatMulV2 of [3, 4] samples by a constant matrix',
    inputShape: [3, 4],
    kinds: ['dense'],
    build: (g, x) => g.op('BatchMatMulV2', [x, g.random([4, 5])], { adj_x: attr.b(false), adj_y: attr.b(false) }),
  },
  {
    name: 'activations: Relu, Relu6, Elu, Selu, LeakyRelu (0.2 and 1.5), Prelu, Sigmoid, Tanh, Softplus, Exp, Abs, Neg, Square',
    inputShape: [3, 3, 2],
    kinds: ['activation', 'concat', 'binary'],
    build: (g, x) => {
      const scaled = g.op('Mul', [x, g.constant([3], [])]);
      const parts = ['Relu', 'Relu6', 'Elu', 'Selu', 'Sigmoid', 'Tanh', 'Softplus', 'Abs', 'Neg', 'Square'].map((op) => g.op(op, [scaled]));
      parts.push(g.op('Exp', [x]));
      parts.push(g.op('LeakyRelu', [scaled], { alpha: attr.f(0.2) }), g.op('LeakyRelu', [scaled], { alpha: attr.f(1.5) }));
      parts.push(g.op('Prelu', [scaled, g.random([2], 0.1, 0.4)]));
      return g.op('ConcatV2', [...parts, g.ints([3], [])], { N: attr.i(parts.length) });
    },
  },
  {
    name: 'Sqrt, Rsqrt, Reciprocal on positive inputs',
    inputShape: [2, 2, 2],
    positive: true,
    kinds: ['activation', 'concat'],
    build: (g, x) => g.op('ConcatV2', [g.op('Sqrt', [x]), g.op('Rsqrt', [x]), g.op('Reciprocal', [x]), g.ints([-1], [])], { N: attr.i(3) }),
  },
  {
    name: 'binary ops with constants of every rank and between computed values',
    inputShape: [3, 3, 2],
    kinds: ['binary', 'constant'],
    build: (g, x) => {
      const a = g.op('AddV2', [x, g.random([2])]);
      const b = g.op('Sub', [g.constant([0.25], []), a]);
      const c = g.op('Mul', [b, g.random([1, 1, 1, 2])]);
      const d = g.op('RealDiv', [c, g.random([3, 1, 2], 0.5, 2)]);
      const e = g.op('Maximum', [d, g.constant([-0.1], [])]);
      const f = g.op('Minimum', [e, g.op('Mul', [x, x])]);
      const h = g.op('SquaredDifference', [f, a]);
      const k = g.op('AddN', [h, a, x], { N: attr.i(3) });
      const m = g.op('Add', [k, g.op('Div', [x, g.constant([2], [])])]);
      return g.op('ClipByValue', [m, g.constant([-0.5], []), g.constant([0.8], [])]);
    },
  },
  {
    name: 'AvgPool SAME stride 2 (padding not counted)',
    inputShape: [5, 5, 2],
    kinds: ['avgPool'],
    build: (g, x) => pool(g, 'AvgPool', x, 3, 2, 'SAME'),
    // Windows at 0, 2, 4 over [−1, 6) rows: the sum of the valid values over their count.
    twin: (g, x) => {
      const padded = g.op('Pad', [x, g.ints([0, 0, 1, 1, 1, 1, 0, 0], [4, 2])]);
      const sums = g.op('Mul', [pool(g, 'AvgPool', padded, 3, 2, 'VALID'), g.constant([9], [])]);
      const rows = [2, 3, 2];
      const counts = rows.flatMap((r) => rows.map((c) => r * c));
      return g.op('RealDiv', [sums, g.constant(counts, [3, 3, 1])]);
    },
  },
  { name: 'MaxPool VALID 2×2', inputShape: [6, 6, 2], kinds: ['maxPool'], build: (g, x) => pool(g, 'MaxPool', x, 2, 2, 'VALID') },
  { name: 'MaxPool SAME 3×3 stride 2', inputShape: [5, 5, 2], kinds: ['maxPool'], build: (g, x) => pool(g, 'MaxPool', x, 3, 2, 'SAME') },
  {
    name: 'Mean over the spatial axes, with and without keep_dims; Sum',
    inputShape: [4, 4, 3],
    kinds: ['mean', 'concat'],
    build: (g, x) => {
      const kept = g.op('Mean', [x, g.ints([1, 2])], { keep_dims: attr.b(true) });
      const flat = flatten(g, kept, 3);
      const dropped = g.op('Mean', [x, g.ints([-3, -2])], { keep_dims: attr.b(false) });
      const summed = g.op('Sum', [x, g.ints([1])], { keep_dims: attr.b(false) });
      return g.op('ConcatV2', [flat, dropped, flatten(g, summed, 12), g.ints([1], [])], { N: attr.i(3) });
    },
  },
  {
    name: 'Max over the spatial axes (global max pooling), with and without keep_dims',
    inputShape: [4, 3, 2],
    kinds: ['maxPool', 'reshape'],
    build: (g, x) => {
      const kept = flatten(g, g.op('Max', [x, g.ints([1, 2])], { keep_dims: attr.b(true) }), 2);
      const dropped = g.op('Max', [x, g.ints([2, -3])], { keep_dims: attr.b(false) });
      return g.op('ConcatV2', [kept, dropped, g.ints([1], [])], { N: attr.i(2) });
    },
  },
  {
    name: 'Pad, PadV2, ConcatV2',
    inputShape: [3, 3, 2],
    kinds: ['pad', 'concat'],
    build: (g, x) => {
      const p = g.op('Pad', [x, g.ints([0, 0, 1, 2, 2, 1, 0, 0], [4, 2])]);
      const q = g.op('PadV2', [x, g.ints([0, 0, 2, 1, 1, 2, 0, 0], [4, 2]), g.constant([0.5], [])]);
      return g.op('ConcatV2', [p, q, g.ints([-1], [])], { N: attr.i(2) });
    },
  },
  {
    name: 'Reshape, Squeeze, ExpandDims, Transpose',
    inputShape: [2, 3, 4],
    kinds: ['reshape', 'transpose'],
    build: (g, x) => {
      const t = g.op('Transpose', [x, g.ints([0, 3, 1, 2])]);
      const e = g.op('ExpandDims', [t, g.ints([2], [])]);
      const s = g.op('Squeeze', [e], { squeeze_dims: attr.ints([2]) });
      const r = g.op('Reshape', [s, g.ints([-1, 6, 4])]);
      return g.op('Transpose', [r, g.ints([0, 2, 1])]);
    },
  },
  {
    name: 'StridedSlice with begin, end, shrink, new-axis and ellipsis masks; Slice',
    inputShape: [5, 4, 3],
    kinds: ['slice', 'reshape', 'concat'],
    build: (g, x) => {
      const ss = (begin: number[], end: number[], masks: Record<string, number>) =>
        g.op('StridedSlice', [x, g.ints(begin), g.ints(end), g.ints(begin.map(() => 1))], Object.fromEntries(Object.entries(masks).map(([k, v]) => [k, attr.i(v)])));
      // x[:, 1:4, :, 1:] ; x[:, -2, :, :] (shrink) ; x[..., 0] ; x[:, newaxis, 1:3]
      const a = ss([0, 1, 0, 1], [0, 4, 0, 0], { begin_mask: 5, end_mask: 13 });
      const b = ss([0, -2], [0, -1], { begin_mask: 1, end_mask: 1, shrink_axis_mask: 2 });
      const c = ss([0, 0], [0, 1], { ellipsis_mask: 1, shrink_axis_mask: 2 });
      const d = ss([0, 0, 1], [0, 0, 3], { begin_mask: 1, end_mask: 1, new_axis_mask: 2 });
      const e = g.op('Slice', [x, g.ints([0, 1, 1, 0]), g.ints([-1, 2, -1, 2])]);
      const parts = [flatten(g, a, 24), flatten(g, b, 12), flatten(g, c, 20), flatten(g, d, 24), flatten(g, e, 12)];
      return g.op('ConcatV2', [...parts, g.ints([1], [])], { N: attr.i(5) });
    },
    twin: (g, x) => {
      const cut = (begin: number[], size: number[], flat: number) => flatten(g, g.op('Slice', [x, g.ints(begin), g.ints(size)]), flat);
      const parts = [cut([0, 1, 0, 1], [-1, 3, -1, 2], 24), cut([0, 3, 0, 0], [-1, 1, -1, -1], 12), cut([0, 0, 0, 0], [-1, -1, -1, 1], 20), cut([0, 1, 0, 0], [-1, 2, -1, -1], 24)];
      parts.push(cut([0, 1, 1, 0], [-1, 2, -1, 2], 12));
      return g.op('ConcatV2', [...parts, g.ints([1], [])], { N: attr.i(5) });
    },
  },
  {
    name: 'Split, SplitV and Unpack of the model\'s values, outputs past the first',
    inputShape: [3, 2, 6],
    kinds: ['slice', 'reshape', 'concat', 'binary'],
    build: (g, x) => {
      const halves = g.op('Split', [g.ints([-1], []), x], { num_split: attr.i(2) });
      const uneven = g.op('SplitV', [x, g.ints([1, -1, 2]), g.ints([3], [])], { num_split: attr.i(3) });
      const rows = g.op('Unpack', [x], { axis: attr.i(1), num: attr.i(3) });
      const mixed = g.op('Mul', [`${halves}:1`, g.op('ConcatV2', [uneven, `${uneven}:2`, g.ints([-1], [])], { N: attr.i(2) })]);
      const parts = [flatten(g, mixed, 18), flatten(g, `${halves}`, 18), flatten(g, `${uneven}:1`, 18), flatten(g, `${rows}:2`, 12)];
      return g.op('ConcatV2', [...parts, g.ints([1], [])], { N: attr.i(4) });
    },
  },
  {
    name: 'FusedBatchNormV3 at inference',
    inputShape: [3, 3, 4],
    kinds: ['batchNorm'],
    build: (g, x) =>
      g.op('FusedBatchNormV3', [x, g.random([4], 0.5, 1.5), g.random([4]), g.random([4]), g.random([4], 0.5, 1.5)], { ...NHWC, epsilon: attr.f(0.001), is_training: attr.b(false), U: attr.type('DT_FLOAT') }),
  },
];

describe('GraphModel ops against tfjs-converter\'s executor', () => {
  beforeAll(async () => {
    await tf.setBackend('wasm');
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  for (const c of CASES) {
    it(c.name, async () => {
      const g = new TinyGraph();
      const logits = c.build(g, g.placeholder([-1, ...c.inputShape]));
      if (c.softmax) g.op('Identity', [g.op('Softmax', [logits])]);
      const model = await g.load();
      let reference: { model: tf.GraphModel; logits: string } | undefined;
      if (c.twin) {
        const t = new TinyGraph();
        const output = c.twin(t, t.placeholder([-1, ...c.inputShape]), g, logits);
        reference = { model: await t.load(), logits: output };
      }
      const graph = await expectSameAsExecute(model, { logits, inputShape: c.inputShape, positive: c.positive, reference });
      const kinds = new Set(graph.nodes.map((n) => n.op.kind));
      for (const k of c.kinds ?? []) expect(kinds, `a ${k} node`).toContain(k);
      expect(graph.peeledSoftmax).toBe(c.softmax === true);
      graph.dispose();
      model.dispose();
      reference?.model.dispose();
    });
  }
});
