/**
 * The ONNX models emitted for a graph. All take the NHWC batch `x` as the graph does (dynamic
 * batch) and transpose it once to NCHW; gradients are transposed back once at the end.
 * - forward: x → logits
 * - loss: x, own (, target) → logits, loss, gradient (a loss of loss-head.ts)
 * - gradient: x, own (, target) → logits, gradient (the loss's value left out), the gradient
 *   in gradientShape(): what host gradients read
 * - cotangent: x, dlogits → gradient (any other loss: its logit gradient comes from tfjs)
 */
import type { ModelGraph } from '../../graph/types.js';
import { UnsupportedNode } from '../../graph/types.js';
import { emitBackward } from './backward.js';
import { emitForward } from './forward.js';
import { toGraphOrder, toInside } from './layout.js';
import { emitLossHead, type LossKind } from './loss-head.js';
import { OnnxWriter, type ValueSpec } from './proto.js';
import type { StridedGradient } from './windows.js';

export type Head =
  | { readonly kind: 'forward' }
  | { readonly kind: 'loss'; readonly loss: LossKind }
  | { readonly kind: 'gradient'; readonly loss: LossKind }
  | { readonly kind: 'cotangent' };

/**
 * The per-sample shape a 'gradient' head writes the input gradient in. A graph that reads its
 * input only through one reshape to a vector (an MLP's Flatten) gets that vector's gradient as
 * it is: reshaped back, onnxruntime would copy it into the caller's buffer, and a reshape of an
 * array the caller owns is only a new name for it.
 */
export function gradientShape(graph: ModelGraph): readonly number[] {
  const flat = flatteningReader(graph);
  return flat === undefined ? graph.shapes[graph.input]! : graph.shapes[flat]!;
}

/** The slot of the one reshape to a vector that alone reads the input, if so. */
function flatteningReader(graph: ModelGraph): number | undefined {
  const readers = graph.nodes.filter((n) => n.inputs.includes(graph.input));
  const only = readers.length === 1 ? readers[0]! : undefined;
  return only && only.op.kind === 'reshape' && only.inputs.length === 1 && graph.shapes[only.output]!.length === 1 ? only.output : undefined;
}

export function classesOf(graph: ModelGraph): number {
  const shape = graph.shapes[graph.output]!;
  if (shape.length !== 1) throw new UnsupportedNode('output', `logits must be [classes] per sample, got [${shape.join(', ')}]`);
  return shape[0]!;
}

/** Checks that every node can be written (throws UnsupportedNode naming the first that cannot). */
export function checkEmittable(graph: ModelGraph): void {
  classesOf(graph);
  for (const n of graph.nodes) {
    if (n.op.kind === 'opaque') throw new UnsupportedNode(n.source, `'${n.op.name}' is known only by its tfjs implementation`);
    if (n.op.kind === 'activation' && n.op.activation.fn === 'opaque') throw new UnsupportedNode(n.source, `custom activation '${n.op.activation.name}' is known only by its tfjs implementation`);
  }
}

export function emitModel(graph: ModelGraph, head: Head, strided: StridedGradient): Uint8Array {
  const classes = classesOf(graph);
  const w = new OnnxWriter();
  const inputShape = graph.shapes[graph.input]!;
  const inputs: ValueSpec[] = [{ name: 'x', shape: inputShape }];
  const forward = emitForward(w, graph, toInside(w, 'x', inputShape), head.kind !== 'forward');
  const logits = forward.values[graph.output]!;
  const outputs: ValueSpec[] = [];
  const name = (value: string, as: string, shape: readonly number[]) => {
    w.alias(value, as);
    outputs.push({ name: as, shape });
  };
  if (head.kind !== 'cotangent') name(logits, 'logits', [classes]);
  if (head.kind === 'forward') return w.encode(inputs, outputs);

  let cotangent: string;
  if (head.kind === 'cotangent') {
    inputs.push({ name: 'dlogits', shape: [classes] });
    cotangent = 'dlogits';
  } else {
    inputs.push({ name: 'own', shape: [classes] });
    if (head.loss.targeted) inputs.push({ name: 'target', shape: [classes] });
    const { loss, dLogits } = emitLossHead(w, head.loss, logits, classes, 'own', head.loss.targeted ? 'target' : null);
    if (head.kind === 'loss') name(loss, 'loss', []);
    cotangent = dLogits;
  }
  // The 'gradient' head stops at the flattened input, whose layout is already the graph's.
  const flat = head.kind === 'gradient' ? flatteningReader(graph) : undefined;
  const inside = emitBackward(w, graph, forward, cotangent, strided, flat);
  const [value, shape] = flat === undefined ? ['x', inputShape] : [forward.values[flat]!, graph.shapes[flat]!];
  const gradient = inside === null ? w.op('ConstantOfShape', [w.op('Shape', [value])]) : flat === undefined ? toGraphOrder(w, inside, inputShape) : inside;
  name(gradient, 'gradient', shape);
  return w.encode(inputs, outputs);
}
