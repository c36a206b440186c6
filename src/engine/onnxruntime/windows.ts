/**
 * Convolutions and pools (NCHW inside) and their input gradients.
 *
 * A stride-1 convolution's input gradient is a forward convolution of dy with the flipped,
 * transposed kernel (see src/engine/tfjs/conv-transpose.ts for the derivation); a strided one
 * is the same after inserting s − 1 zeros between dy's neighbours, or a ConvTranspose with the
 * forward kernel: `StridedGradient` picks which (bench/onnxruntime.ts measures both).
 */
import type { Op } from '../../graph/types.js';
import { explicitPads } from '../../graph/shapes.js';
import { flipSpatial, hostValues, permute } from './layout.js';
import type { Attribute, OnnxWriter } from './proto.js';

export type StridedGradient = 'zero-insertion' | 'conv-transpose';

type ConvOp = Extract<Op, { kind: 'conv2d' | 'depthwiseConv2d' }>;
type PoolOp = Extract<Op, { kind: 'maxPool' | 'avgPool' }>;

interface Geometry {
  /** Input [H, W, C] and output [Ho, Wo, Co], per sample. */
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  readonly kernel: readonly [number, number];
  readonly strides: readonly [number, number];
  readonly dilations: readonly [number, number];
  /** [top, bottom, left, right]. */
  readonly pads: readonly [number, number, number, number];
}

function geometry(op: ConvOp | PoolOp, inShape: readonly number[], outShape: readonly number[]): Geometry {
  const kernel: [number, number] = op.kind === 'maxPool' || op.kind === 'avgPool' ? [op.size[0], op.size[1]] : [op.filter.shape[0]!, op.filter.shape[1]!];
  const dilations: [number, number] = op.kind === 'maxPool' || op.kind === 'avgPool' ? [1, 1] : [op.dilations[0], op.dilations[1]];
  const pads = explicitPads(op.padding, [inShape[0]!, inShape[1]!], kernel, op.strides, dilations);
  return { inShape, outShape, kernel, strides: op.strides, dilations, pads };
}

function windowAttributes(g: Geometry): Record<string, Attribute> {
  const [top, bottom, left, right] = g.pads;
  return { kernel_shape: { ints: g.kernel }, strides: { ints: g.strides }, pads: { ints: [top, left, bottom, right] } };
}

/** Forward kernel in ONNX's [out, in/group, kh, kw]. */
function forwardKernel(w: OnnxWriter, op: ConvOp): string {
  const [kh, kw, c, m] = op.filter.shape as [number, number, number, number];
  const values = hostValues(op.filter);
  if (op.kind === 'conv2d') {
    const t = permute(values, op.filter.shape, [3, 2, 0, 1]);
    return w.floats(t.values, t.shape, 'kernel');
  }
  // Depthwise output channel c·m + j reads input channel c: group = c, one input per group.
  return w.floats(permute(values, [kh, kw, c * m], [2, 0, 1]).values, [c * m, 1, kh, kw], 'kernel');
}

export function emitConv(w: OnnxWriter, op: ConvOp, x: string, inShape: readonly number[], outShape: readonly number[]): string {
  const g = geometry(op, inShape, outShape);
  const inputs = [x, forwardKernel(w, op)];
  if (op.bias) inputs.push(w.floats(hostValues(op.bias), op.bias.shape, 'bias'));
  return w.op('Conv', inputs, {
    ...windowAttributes(g),
    dilations: { ints: g.dilations },
    group: { i: op.kind === 'depthwiseConv2d' ? inShape[2]! : 1 },
  });
}

export function convVjp(w: OnnxWriter, op: ConvOp, dy: string, inShape: readonly number[], outShape: readonly number[], strided: StridedGradient): string {
  const g = geometry(op, inShape, outShape);
  const group = op.kind === 'depthwiseConv2d' ? inShape[2]! : 1;
  if (strided === 'conv-transpose' && (g.strides[0] > 1 || g.strides[1] > 1)) {
    return convTranspose(w, dy, forwardKernel(w, op), g, group);
  }
  // Flipped kernel, transposed: conv2d [in, out, kh, kw]; depthwise [in, m, kh, kw], group = in.
  const flipped = permute(flipSpatial(hostValues(op.filter), op.filter.shape), op.filter.shape, [2, 3, 0, 1]);
  const { input, pads } = spreadAndPad(w, dy, g);
  return w.op('Conv', [input, w.floats(flipped.values, flipped.shape, 'flipped')], {
    kernel_shape: { ints: g.kernel },
    dilations: { ints: g.dilations },
    pads: { ints: pads },
    group: { i: group },
  });
}

/** ConvTranspose with the forward kernel, output padded to the forward input's size. */
function convTranspose(w: OnnxWriter, dy: string, kernel: string, g: Geometry, group: number): string {
  const [top, bottom, left, right] = g.pads;
  const span = (a: 0 | 1) => (g.outShape[a]! - 1) * g.strides[a] + (g.kernel[a] - 1) * g.dilations[a] + 1;
  const outputPadding = [g.inShape[0]! - (span(0) - top - bottom), g.inShape[1]! - (span(1) - left - right)];
  return w.op('ConvTranspose', [dy, kernel], {
    ...windowAttributes(g),
    dilations: { ints: g.dilations },
    output_padding: { ints: outputPadding },
    group: { i: group },
  });
}

/**
 * dy [N, C, Ho, Wo] with s − 1 zeros after each element along strided axes, cropped where the
 * padding a stride-1 convolution needs would be negative; returns it and ONNX pads for that
 * convolution with the flipped kernel.
 */
function spreadAndPad(w: OnnxWriter, dy: string, g: Geometry): { input: string; pads: number[] } {
  const [sh, sw] = g.strides;
  const [kh, kw] = g.kernel;
  const [dh, dw] = g.dilations;
  const [H, W] = g.inShape as [number, number];
  const [Ho, Wo, C] = g.outShape as [number, number, number];
  const [top, , left] = g.pads;
  let input = dy;
  let [h, wd] = [Ho, Wo];
  if (sh > 1 || sw > 1) {
    const view = w.op('Reshape', [dy, w.int64s([0, C, Ho, 1, Wo, 1])]);
    const spread = w.op('Pad', [view, w.int64s([0, 0, 0, 0, 0, 0, 0, 0, 0, sh - 1, 0, sw - 1])]);
    input = w.op('Reshape', [spread, w.int64s([0, C, Ho * sh, Wo * sw])]);
    [h, wd] = [Ho * sh, Wo * sw];
  }
  const before = [(kh - 1) * dh - top, (kw - 1) * dw - left];
  const after = [H - 1 - (Ho - 1) * sh + top - (sh - 1), W - 1 - (Wo - 1) * sw + left - (sw - 1)];
  if ([...before, ...after].some((p) => p < 0)) {
    const cropBefore = before.map((p) => Math.max(0, -p));
    const cropAfter = after.map((p) => Math.max(0, -p));
    input = w.op('Slice', [input, w.int64s(cropBefore), w.int64s([h - cropAfter[0]!, wd - cropAfter[1]!]), w.int64s([2, 3])]);
  }
  const b = before.map((p) => Math.max(0, p));
  const a = after.map((p) => Math.max(0, p));
  return { input, pads: [b[0]!, b[1]!, a[0]!, a[1]!] };
}

/** Max pooling; in gradient models also the argmax indices (flat over N·C·H·W). */
export function emitPool(w: OnnxWriter, op: PoolOp, x: string, inShape: readonly number[], outShape: readonly number[], withIndices: boolean): string[] {
  const g = geometry(op, inShape, outShape);
  if (op.kind === 'maxPool') return w.ops('MaxPool', [x], windowAttributes(g), withIndices ? 2 : 1);
  const countPadding = op.padding !== 'same' && op.padding !== 'valid' && op.countPadding;
  return [w.op('AveragePool', [x], { ...windowAttributes(g), count_include_pad: { i: countPadding ? 1 : 0 } })];
}

/** Each window's max receives its output's gradient (scatter-add over the flat argmax indices). */
export function maxPoolVjp(w: OnnxWriter, dy: string, x: string, indices: string): string {
  const flat = w.int64s([-1]);
  const zeros = w.op('ConstantOfShape', [w.op('Shape', [w.op('Reshape', [x, flat])])]);
  const scattered = w.op('ScatterElements', [zeros, w.op('Reshape', [indices, flat]), w.op('Reshape', [dy, flat])], { axis: { i: 0 }, reduction: { s: 'add' } });
  return w.op('Reshape', [scattered, w.op('Shape', [x])]);
}

/** Each window spreads its gradient evenly over the positions it averaged. */
export function avgPoolVjp(w: OnnxWriter, op: Extract<Op, { kind: 'avgPool' }>, dy: string, inShape: readonly number[], outShape: readonly number[]): string {
  const g = geometry(op, inShape, outShape);
  const [H, W, C] = inShape as [number, number, number];
  const [Ho, Wo] = outShape as [number, number];
  const [kh, kw] = g.kernel;
  const [top, , left] = g.pads;
  const countPadding = op.padding !== 'same' && op.padding !== 'valid' && op.countPadding;
  const inverse = new Float32Array(Ho * Wo);
  for (let i = 0; i < Ho; i++) {
    for (let j = 0; j < Wo; j++) {
      const rows = Math.min(H, i * g.strides[0] - top + kh) - Math.max(0, i * g.strides[0] - top);
      const cols = Math.min(W, j * g.strides[1] - left + kw) - Math.max(0, j * g.strides[1] - left);
      inverse[i * Wo + j] = 1 / (countPadding ? kh * kw : rows * cols);
    }
  }
  const scaled = w.op('Mul', [dy, w.floats(inverse, [1, 1, Ho, Wo], 'count')]);
  const ones = w.floats(new Float32Array(C * kh * kw).fill(1), [C, 1, kh, kw], 'ones');
  return convTranspose(w, scaled, ones, g, C);
}
