/**
 * Compiles a tfjs LayersModel (Sequential or functional, one input, one output) into the
 * input-gradient engine: hand-written vector-Jacobian products for the layers real models use,
 * tf.grad for the others, one node at a time.
 */
import { LayerNetwork, type Node } from './network.js';
import { traceLayers } from './graph.js';
import { notice } from './notices.js';
import { ActivationOp } from './ops/activation.js';
import { lower } from './ops/lower.js';
import { Conv2DOp } from './ops/convolution.js';
import { MaxPool2DOp } from './ops/pooling.js';
import type { Network } from './types.js';

/** Compiles a LayersModel into the input-gradient engine; null when it cannot. */
export function compileLayersNetwork(model: unknown): Network | null {
  let graph: ReturnType<typeof traceLayers>;
  try {
    graph = traceLayers(model);
  } catch {
    // A model whose graph cannot be read (not built, exotic containers): tf.grad handles it.
    return null;
  }
  if (!graph) return null;
  const nodes: Node[] = [];
  const alias = new Map<number, number>();
  const resolve = (slot: number) => alias.get(slot) ?? slot;
  let slots = graph.slots;
  for (const call of graph.calls) {
    const inputs = call.inputs.map(resolve);
    const lowered = lower(call);
    if (lowered.identity) {
      alias.set(call.output, inputs[0]!);
      continue;
    }
    let current: number[] = inputs;
    lowered.ops.forEach((op, i) => {
      const output = i === lowered.ops.length - 1 ? call.output : slots++;
      nodes.push({ op, inputs: current, output });
      current = [output];
    });
  }
  let output = resolve(graph.output);

  // A final softmax is peeled off: attacks need logits, whose gradients do not vanish.
  let peeledSoftmax = false;
  const last = nodes.findIndex((n) => n.output === output);
  const lastOp = last >= 0 ? nodes[last]!.op : null;
  if (lastOp instanceof ActivationOp && lastOp.spec.isSoftmax && graph.outputRank === 2) {
    output = nodes[last]!.inputs[0]!;
    nodes.splice(last, 1);
    peeledSoftmax = true;
  }

  // MaxPool over a relu output read by nothing else: the pool's routing applies the relu mask.
  const readers = new Map<number, number>();
  for (const n of nodes) for (const s of n.inputs) readers.set(s, (readers.get(s) ?? 0) + 1);
  // A 2×2 MaxPool over such a Conv2D output also reads the conv's input: the pair's gradient
  // can be one kernel (pool-conv-backprop.ts).
  nodes.forEach((n, i) => {
    if (!(n.op instanceof MaxPool2DOp)) return;
    const pooled = n.inputs[0]!;
    const producer = nodes.find((p) => p.output === pooled);
    const onlyHere = readers.get(pooled) === 1 && pooled !== output;
    n.op.reluGate = producer?.op.reluOutput === true && onlyHere;
    if (onlyHere && producer?.op instanceof Conv2DOp && producer.op.poolFusable && n.op.halves) {
      n.op.feeder = producer.op;
      nodes[i] = { ...n, inputs: [pooled, producer.inputs[0]!] };
    }
  });

  for (const n of nodes) {
    if (n.op.autodiff) notice(`autodiff:${n.op.autodiff}`, `no hand-written input gradient for ${n.op.autodiff.startsWith('activation') ? n.op.autodiff : `layer class ${n.op.autodiff}`}; tf.grad computes it (exact, slower).`);
  }
  return new LayerNetwork(nodes, graph.input, output, slots, peeledSoftmax);
}
