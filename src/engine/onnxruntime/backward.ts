/**
 * The graph's backward pass as ONNX nodes: each node's vector-Jacobian product, in reverse order,
 * for the slots that depend on the input; gradients of a slot share its layout.
 */
import type { ModelGraph, Node } from '../../graph/types.js';
import { activationVjp } from './activations.js';
import { alignOperand, batchNormAffine, insidePads, meanInGraphOrder, type ForwardValues } from './forward.js';
import { hostValues, insideAxis, insideShape, isImage, permute, reshapeSamples, toGraphOrder, toInside } from './layout.js';
import type { OnnxWriter } from './proto.js';
import { avgPoolVjp, convVjp, maxPoolVjp, type StridedGradient } from './windows.js';

/**
 * d(output·cotangent)/d(slot `until`), the input unless told, inside layout; null when the output
 * does not depend on the input.
 */
export function emitBackward(w: OnnxWriter, graph: ModelGraph, forward: ForwardValues, cotangent: string, strided: StridedGradient, until = graph.input): string | null {
  const dependent = new Set([graph.input]);
  for (const n of graph.nodes) if (n.inputs.some((s) => dependent.has(s))) dependent.add(n.output);
  if (!dependent.has(graph.output)) return null;
  const grads = new Map<number, string>([[graph.output, cotangent]]);
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const node = graph.nodes[i]!;
    if (node.output === until) continue;
    const g = grads.get(node.output);
    if (g === undefined) continue;
    grads.delete(node.output);
    const results = vjp(w, graph, node, forward, g, strided, node.inputs.map((s) => dependent.has(s)));
    results.forEach((r, k) => {
      if (r === null) return;
      const slot = node.inputs[k]!;
      const existing = grads.get(slot);
      grads.set(slot, existing === undefined ? r : w.op('Add', [existing, r]));
    });
  }
  return grads.get(until) ?? null;
}

function vjp(w: OnnxWriter, graph: ModelGraph, node: Node, forward: ForwardValues, g: string, strided: StridedGradient, wanted: readonly boolean[]): (string | null)[] {
  const op = node.op;
  const x = forward.values[node.inputs[0]!]!;
  const y = forward.values[node.output]!;
  const xShape = graph.shapes[node.inputs[0]!] ?? [];
  const out = graph.shapes[node.output]!;
  const rank = xShape.length;
  switch (op.kind) {
    case 'constant':
      return [];
    case 'conv2d':
    case 'depthwiseConv2d':
      return [convVjp(w, op, g, xShape, out, strided)];
    case 'dense': {
      const t = permute(hostValues(op.kernel), op.kernel.shape, [1, 0]);
      const transposed = w.floats(t.values, t.shape, 'kernelT');
      return [toInside(w, w.op('MatMul', [toGraphOrder(w, g, out), transposed]), xShape)];
    }
    case 'batchNorm': {
      const { scale } = batchNormAffine(op);
      return [w.op('Mul', [g, w.floats(scale, isImage(xShape) ? [scale.length, 1, 1] : [scale.length], 'scale')])];
    }
    case 'activation':
      return [activationVjp(w, op.activation, g, x, y)];
    case 'softmax': {
      const axis = w.int64s([insideAxis(-1, rank)]);
      const dot = w.op('ReduceSum', [w.op('Mul', [g, y]), axis], { keepdims: { i: 1 } });
      return [w.op('Mul', [y, w.op('Sub', [g, dot])])];
    }
    case 'maxPool':
      return [maxPoolVjp(w, g, x, forward.saved.get(node)!)];
    case 'avgPool':
      return [avgPoolVjp(w, op, g, xShape, out)];
    case 'mean': {
      const axes = op.axes.map((a) => (a < 0 ? a + rank : a));
      const count = axes.reduce((p, a) => p * xShape[a]!, 1);
      const scaled = w.op('Mul', [g, w.scalar(1 / count)]);
      if (meanInGraphOrder(rank, axes.length, op.keepDims)) {
        const restored = w.op('Unsqueeze', [scaled, w.int64s(axes.map((a) => a + 1))]);
        return [toInside(w, w.op('Expand', [restored, w.int64s([1, ...xShape])]), xShape)];
      }
      const restored = op.keepDims ? scaled : w.op('Unsqueeze', [scaled, w.int64s(axes.map((a) => insideAxis(a, rank)).sort((p, q) => p - q))]);
      return [w.op('Expand', [restored, w.int64s(insideShape(xShape, 1))])];
    }
    case 'binary':
      return binaryVjp(w, graph, node, forward, g, wanted);
    case 'concat': {
      const axis = insideAxis(op.axis, rank);
      let offset = 0;
      return node.inputs.map((s, k) => {
        const size = graph.shapes[s]![op.axis < 0 ? op.axis + rank : op.axis]!;
        const start = offset;
        offset += size;
        return wanted[k] ? w.op('Slice', [g, w.int64s([start]), w.int64s([start + size]), w.int64s([axis])]) : null;
      });
    }
    case 'pad': {
      const axes = xShape.map((_, i) => insideAxis(i, rank));
      const starts = op.pads.map((p) => p[0]);
      const ends = xShape.map((d, i) => op.pads[i]![0] + d);
      return [w.op('Slice', [g, w.int64s(starts), w.int64s(ends), w.int64s(axes)])];
    }
    case 'reshape':
      return [toInside(w, reshapeSamples(w, toGraphOrder(w, g, out), xShape), xShape)];
    case 'transpose': {
      const inverse = new Array<number>(op.perm.length);
      op.perm.forEach((p, i) => (inverse[p] = i));
      return [toInside(w, w.op('Transpose', [toGraphOrder(w, g, out)], { perm: { ints: [0, ...inverse.map((p) => p + 1)] } }), xShape)];
    }
    case 'slice': {
      const after = xShape.map((d, i) => d - op.begin[i]! - (op.size[i]! < 0 ? d - op.begin[i]! : op.size[i]!));
      return [w.op('Pad', [g, w.int64s(insidePads(op.begin, after, rank))])];
    }
    case 'opaque':
      throw new Error(`opaque node ${node.source} reached the backward pass`);
  }
}

function binaryVjp(w: OnnxWriter, graph: ModelGraph, node: Node, forward: ForwardValues, g: string, wanted: readonly boolean[]): (string | null)[] {
  const op = node.op as Extract<Node['op'], { kind: 'binary' }>;
  const out = graph.shapes[node.output]!;
  const shapes = node.inputs.map((s) => graph.shapes[s]!);
  const [a, b] = node.inputs.map((s, k) => alignOperand(w, forward.values[s]!, shapes[k]!, out)) as [string, string];
  const zero = w.scalar(0);
  let ga: string;
  let gb: string;
  switch (op.fn) {
    case 'add':
      [ga, gb] = [g, g];
      break;
    case 'sub':
      [ga, gb] = [g, w.op('Neg', [g])];
      break;
    case 'mul':
      [ga, gb] = [w.op('Mul', [g, b]), w.op('Mul', [g, a])];
      break;
    case 'div':
      ga = w.op('Div', [g, b]);
      gb = w.op('Neg', [w.op('Div', [w.op('Mul', [g, a]), w.op('Mul', [b, b])])]);
      break;
    case 'max':
    case 'min': {
      // As tf.maximum / tf.minimum: ties go to the first operand.
      const first = w.op(op.fn === 'max' ? 'GreaterOrEqual' : 'LessOrEqual', [a, b]);
      [ga, gb] = [w.op('Where', [first, g, zero]), w.op('Where', [first, zero, g])];
      break;
    }
  }
  return [wanted[0] ? unbroadcast(w, ga, shapes[0]!, out) : null, wanted[1] ? unbroadcast(w, gb, shapes[1]!, out) : null];
}

/** Sums a result-shaped gradient over the axes an operand was broadcast along, back to its shape. */
function unbroadcast(w: OnnxWriter, g: string, shape: readonly number[], result: readonly number[]): string {
  const padded = [...new Array<number>(result.length - shape.length).fill(1), ...shape];
  const axes = padded.flatMap((d, i) => (d === 1 && result[i] !== 1 ? [insideAxis(i, result.length)] : [])).sort((p, q) => p - q);
  let reduced = axes.length ? w.op('ReduceSum', [g, w.int64s(axes)], { keepdims: { i: 1 } }) : g;
  if (shape.length === result.length) return reduced;
  reduced = reshapeSamples(w, toGraphOrder(w, reduced, result), shape);
  return toInside(w, reduced, shape);
}
