/**
 * Compiles a model graph into the tfjs input-gradient engine: one engine op per node (fused
 * where tfjs fuses), hand-written vector-Jacobian products for every node kind, tf.grad for
 * opaque ones.
 */
import type { ModelGraph, Node as GraphNode } from '../../graph/types.js';
import { GraphNetwork, type Node } from './network.js';
import { notice } from './notices.js';
import { Conv2DOp } from './ops/convolution.js';
import { fusable, lowerNode } from './ops/lower.js';
import { MaxPool2DOp } from './ops/pooling.js';
import type { Network } from './types.js';

/** Slots whose value depends on the model input (the others are constants). */
function varyingSlots(graph: ModelGraph): Set<number> {
  const varying = new Set([graph.input]);
  for (const n of graph.nodes) if (n.inputs.some((s) => varying.has(s))) varying.add(n.output);
  return varying;
}

export function compileGraph(graph: ModelGraph): Network {
  const readers = new Map<number, number>();
  for (const n of graph.nodes) for (const s of n.inputs) readers.set(s, (readers.get(s) ?? 0) + 1);
  const varying = varyingSlots(graph);
  const isVarying = (slot: number) => varying.has(slot);

  const nodes: Node[] = [];
  let slots = graph.shapes.length;
  const skip = new Set<GraphNode>();
  for (const node of graph.nodes) {
    if (skip.has(node)) continue;
    // A relu, relu6 or elu that is the only reader of a convolution or dense output runs fused with it.
    const linear = node.op.kind === 'conv2d' || node.op.kind === 'depthwiseConv2d' || node.op.kind === 'dense';
    const next = linear && readers.get(node.output) === 1 && node.output !== graph.output ? graph.nodes.find((n) => n.inputs.includes(node.output)) : undefined;
    const fused = next ? fusable(next.op) : null;
    if (next && fused) skip.add(next);
    const ops = lowerNode(node, graph.shapes[node.inputs[0]!] ?? [], isVarying, fused ?? undefined);
    const output = next && fused ? next.output : node.output;
    let current: readonly number[] = node.inputs;
    ops.forEach((op, i) => {
      const out = i === ops.length - 1 ? output : slots++;
      nodes.push({ op, inputs: current, output: out });
      current = [out];
    });
  }

  // MaxPool over a relu output read by nothing else: the pool's routing applies the relu mask.
  // A 2×2 MaxPool over such a Conv2D output also reads the conv's input: the pair's gradient
  // can be one kernel (pool-conv-backprop.ts).
  const engineReaders = new Map<number, number>();
  for (const n of nodes) for (const s of n.inputs) engineReaders.set(s, (engineReaders.get(s) ?? 0) + 1);
  nodes.forEach((n, i) => {
    if (!(n.op instanceof MaxPool2DOp)) return;
    const pooled = n.inputs[0]!;
    const producer = nodes.find((p) => p.output === pooled);
    const onlyHere = engineReaders.get(pooled) === 1 && pooled !== graph.output;
    n.op.reluGate = producer?.op.reluOutput === true && onlyHere;
    if (onlyHere && producer?.op instanceof Conv2DOp && producer.op.poolFusable && n.op.halves) {
      n.op.feeder = producer.op;
      nodes[i] = { ...n, inputs: [pooled, producer.inputs[0]!] };
    }
  });

  for (const n of nodes) {
    if (n.op.autodiff) notice(`autodiff:${n.op.autodiff}`, `no hand-written input gradient for ${n.op.autodiff}; tf.grad computes it (exact, slower).`);
  }
  return new GraphNetwork(nodes, graph.input, graph.output, slots, graph.peeledSoftmax, () => graph.dispose());
}
