/** The graph's forward pass as ONNX nodes, every value in the layout of layout.ts. */
import type { ModelGraph, Node, Op } from '../../graph/types.js';
import { UnsupportedNode } from '../../graph/types.js';
import { emitActivation } from './activations.js';
import { hostValues, insideAxis, isImage, permute, reshapeSamples, toGraphOrder, toInside } from './layout.js';
import type { OnnxWriter } from './proto.js';
import { emitConv, emitPool } from './windows.js';

export interface ForwardValues {
  /** Value name of each slot, inside layout. */
  readonly values: string[];
  /** Extra outputs the backward pass reads (max pool indices), per node. */
  readonly saved: Map<Node, string>;
}

/** Emits every node; `withIndices` keeps what the backward pass needs. */
export function emitForward(w: OnnxWriter, graph: ModelGraph, input: string, withIndices: boolean): ForwardValues {
  const values: string[] = [];
  const saved = new Map<Node, string>();
  values[graph.input] = input;
  for (const node of graph.nodes) {
    const ins = node.inputs.map((s) => values[s]!);
    const shapes = node.inputs.map((s) => graph.shapes[s]!);
    const out = graph.shapes[node.output]!;
    if (node.op.kind === 'maxPool' || node.op.kind === 'avgPool') {
      const [y, indices] = emitPool(w, node.op, ins[0]!, shapes[0]!, out, withIndices);
      if (indices) saved.set(node, indices);
      values[node.output] = y!;
    } else {
      values[node.output] = emitNode(w, node.op, ins, shapes, out, node.source);
    }
  }
  return { values, saved };
}

function emitNode(w: OnnxWriter, op: Op, ins: readonly string[], shapes: readonly (readonly number[])[], out: readonly number[], source: string): string {
  const x = ins[0]!;
  const xShape = shapes[0] ?? [];
  const rank = xShape.length;
  switch (op.kind) {
    case 'constant':
      return constant(w, op.value.shape, hostValues(op.value));
    case 'conv2d':
    case 'depthwiseConv2d':
      return emitConv(w, op, x, xShape, out);
    case 'dense': {
      const kernel = w.floats(hostValues(op.kernel), op.kernel.shape, 'kernel');
      const bias = op.bias ? w.floats(hostValues(op.bias), op.bias.shape, 'bias') : null;
      if (rank === 1) return w.op('Gemm', bias ? [x, kernel, bias] : [x, kernel]);
      const product = w.op('MatMul', [toGraphOrder(w, x, xShape), kernel]);
      return toInside(w, bias ? w.op('Add', [product, bias]) : product, out);
    }
    case 'batchNorm': {
      const { scale, shift } = batchNormAffine(op);
      const dims = isImage(xShape) ? [scale.length, 1, 1] : [scale.length];
      return w.op('Add', [w.op('Mul', [x, w.floats(scale, dims, 'scale')]), w.floats(shift, dims, 'shift')]);
    }
    case 'activation':
      return emitActivation(w, op.activation, x, source);
    case 'softmax':
      return w.op('Softmax', [x], { axis: { i: insideAxis(-1, rank) } });
    case 'mean': {
      const axes = op.axes.map((a) => (a < 0 ? a + rank : a));
      if (meanInGraphOrder(rank, axes.length, op.keepDims)) {
        return w.op('ReduceMean', [toGraphOrder(w, x, xShape)], { axes: { ints: axes.map((a) => a + 1) }, keepdims: { i: 0 } });
      }
      return w.op('ReduceMean', [x], { axes: { ints: axes.map((a) => insideAxis(a, rank)) }, keepdims: { i: op.keepDims ? 1 : 0 } });
    }
    case 'binary': {
      const a = alignOperand(w, x, xShape, out);
      const b = alignOperand(w, ins[1]!, shapes[1]!, out);
      return w.op(BINARY[op.fn], [a, b]);
    }
    case 'concat':
      return w.op('Concat', [...ins], { axis: { i: insideAxis(op.axis, rank) } });
    case 'pad':
      return w.op('Pad', [x, w.int64s(insidePads(op.pads.map((p) => p[0]), op.pads.map((p) => p[1]), rank)), w.scalar(op.value)]);
    case 'reshape':
      return toInside(w, reshapeSamples(w, toGraphOrder(w, x, xShape), op.shape), out);
    case 'transpose':
      return toInside(w, w.op('Transpose', [toGraphOrder(w, x, xShape)], { perm: { ints: [0, ...op.perm.map((p) => p + 1)] } }), out);
    case 'slice': {
      const ends = op.size.map((s, i) => (s < 0 ? xShape[i]! : op.begin[i]! + s));
      const axes = xShape.map((_, i) => insideAxis(i, rank));
      return w.op('Slice', [x, w.int64s([...op.begin]), w.int64s(ends), w.int64s(axes)]);
    }
    case 'maxPool':
    case 'avgPool':
      throw new Error('pools are emitted by emitForward');
    case 'opaque':
      throw new UnsupportedNode(source, `'${op.name}' is known only by its tfjs implementation`);
  }
}

export const BINARY = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', max: 'Max', min: 'Min' } as const;

/** A constant slot: batch axis 1, images as [1, C, H, W]. */
function constant(w: OnnxWriter, shape: readonly number[], values: Float32Array): string {
  if (isImage(shape)) {
    const t = permute(values, shape, [2, 0, 1]);
    return w.floats(t.values, [1, ...t.shape], 'constant');
  }
  return w.floats(values, [1, ...shape], 'constant');
}

/** Inference batch norm as one scale and shift per channel, folded in double precision. */
export function batchNormAffine(op: Extract<Op, { kind: 'batchNorm' }>): { scale: Float32Array; shift: Float32Array } {
  const mean = hostValues(op.mean);
  const variance = hostValues(op.variance);
  const gamma = op.gamma ? hostValues(op.gamma) : null;
  const beta = op.beta ? hostValues(op.beta) : null;
  const scale = new Float32Array(mean.length);
  const shift = new Float32Array(mean.length);
  for (let c = 0; c < mean.length; c++) {
    const s = (gamma ? gamma[c]! : 1) / Math.sqrt(variance[c]! + op.epsilon);
    scale[c] = s;
    shift[c] = (beta ? beta[c]! : 0) - mean[c]! * s;
  }
  return { scale, shift };
}

/**
 * Reducing an image to two or more axes without keepDims leaves them in NCHW order, not the
 * graph's: such means run on the graph-ordered value.
 */
export function meanInGraphOrder(rank: number, reduced: number, keepDims: boolean): boolean {
  return rank === 3 && !keepDims && rank - reduced >= 2;
}

/** ONNX Pad's [begins…, ends…] over the emitted axes (batch first) from per-sample pairs. */
export function insidePads(before: readonly number[], after: readonly number[], rank: number): number[] {
  const b = new Array<number>(rank + 1).fill(0);
  const a = new Array<number>(rank + 1).fill(0);
  for (let i = 0; i < rank; i++) {
    b[insideAxis(i, rank)] = before[i]!;
    a[insideAxis(i, rank)] = after[i]!;
  }
  return [...b, ...a];
}

/**
 * An operand of a broadcasting op, brought to the result's rank so that numpy broadcasting of
 * the emitted values matches the graph's (a [C] bias against an [H, W, C] image becomes [1, C, 1, 1]).
 */
export function alignOperand(w: OnnxWriter, value: string, shape: readonly number[], result: readonly number[]): string {
  if (shape.length === result.length) return value;
  const graphOrder = toGraphOrder(w, value, shape);
  const missing = Array.from({ length: result.length - shape.length }, (_, i) => i + 1);
  return toInside(w, w.op('Unsqueeze', [graphOrder, w.int64s(missing)]), result);
}
