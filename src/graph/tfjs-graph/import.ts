/**
 * tfjs GraphModels (what tfjs-converter makes of TensorFlow and Keras models) into the model
 * graph. Reads the converted GraphDef (`modelTopology`, the same JSON `model.save()` writes) and
 * the model's loaded weights (`model.weights`, Const values by node name, dequantized). Walks
 * back from the output, so unused branches never need a rule; folds everything that does not
 * depend on the input; turns the rest into graph nodes. Weights stay the model's tensors where
 * they are used as loaded.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { RobustestError, show } from '../../errors.js';
import { GraphBuilder } from '../builder.js';
import type { ModelGraph } from '../types.js';
import { UnsupportedNode } from '../types.js';
import { Context, WeightCache } from './context.js';
import { canFold, fold } from './fold.js';
import { Attrs, dataInputs, describe, parseRef, type GraphDef, type NodeDef, type TensorRef } from './graphdef.js';
import { CONVERTERS } from './ops/index.js';
import { computed, isKnown, Known, type Value } from './values.js';

/** Const values by node name, as loaded (quantized weights already dequantized). */
export type ConstValues = Record<string, tf.Tensor[] | tf.Tensor>;

/**
 * The parts of a tfjs-converter GraphModel the importer reads: the public `weights`, and the
 * `artifacts` that tf.loadGraphModel keeps (private in tfjs-converter's typings, but the
 * converter's file format itself: the GraphDef JSON, and the signature).
 */
export interface GraphModelLike {
  readonly weights: ConstValues;
}

interface Artifacts {
  modelTopology?: unknown;
  signature?: Signature;
  userDefinedMetadata?: { signature?: Signature };
}

interface Signature {
  inputs?: Record<string, { name?: string }>;
  outputs?: Record<string, { name?: string }>;
}

export interface GraphImportOptions {
  /** The node whose output is the logits or probabilities; needed when the graph has several outputs. */
  output?: string;
  /** The input Placeholder; needed when the graph has several. */
  input?: string;
  /** Per-sample input shape, for inputs the topology leaves unknown (e.g. [224, 224, 3]). */
  inputShape?: readonly number[];
}

/** A GraphModel into the model graph; UnsupportedNode names the first node it cannot represent. */
export function importGraphModel(model: GraphModelLike, options: GraphImportOptions = {}): ModelGraph {
  const artifacts = (model as { artifacts?: Artifacts } | undefined)?.artifacts;
  const topology = artifacts?.modelTopology as GraphDef | undefined;
  if (!topology || !Array.isArray(topology.node)) {
    throw new RobustestError('INVALID_MODEL', 'importGraphModel() needs a GraphModel loaded with tf.loadGraphModel (its converted topology).', {
      expected: 'a tf.GraphModel whose artifacts hold a GraphDef topology',
      received: show(model),
    });
  }
  const signature = artifacts?.userDefinedMetadata?.signature ?? artifacts?.signature;
  return importGraphDef(topology, model.weights, { ...options, signature });
}

/** The same from a GraphDef topology and Const values by node name. */
export function importGraphDef(topology: GraphDef, weights: ConstValues, options: GraphImportOptions & { signature?: Signature } = {}): ModelGraph {
  const byName = new Map(topology.node.map((n) => [n.name, n]));
  const output = outputRef(topology, byName, options);
  const input = inputNode(topology, byName, options);
  const builder = new GraphBuilder('tfjs-graph', inputShape(input, options));
  const cache = new WeightCache(builder);
  const values = new Map<string, Value[]>();
  // Weights the graph owns are made on first use, so an import that fails leaves nothing to free.
  for (const node of order(output.node, byName)) {
    const inputs = dataInputs(node).map((ref) => valueOf(ref, values, node));
    values.set(node.name, convert(node, inputs, input, builder, cache, weights));
  }
  const result = valueOf(output, values, byName.get(output.node)!);
  if (isKnown(result)) throw new UnsupportedNode(describe(byName.get(output.node)!), 'the output does not depend on the input');
  return builder.build(result.slot);
}

function valueOf(ref: TensorRef, values: Map<string, Value[]>, reader: NodeDef): Value {
  const v = values.get(ref.node)?.[ref.index];
  if (!v) throw new UnsupportedNode(describe(reader), `reads output ${ref.index} of ${ref.node}, which the importer does not produce`);
  return v;
}

function convert(node: NodeDef, inputs: Value[], input: NodeDef, builder: GraphBuilder, cache: WeightCache, weights: ConstValues): Value[] {
  if (node === input) return [computed(builder.input)];
  if (node.op === 'Const') {
    const w = weights[node.name];
    const tensor = Array.isArray(w) ? w[0] : w;
    if (!tensor) throw new UnsupportedNode(describe(node), 'a Const without a loaded value in model.weights');
    return [Known.ofTensor(tensor)];
  }
  if (node.op.startsWith('Placeholder') && node.op !== 'PlaceholderWithDefault') {
    throw new UnsupportedNode(describe(node), `a second input besides ${input.name} (only single-input models are imported)`);
  }
  if (node.op === 'NoOp') return [];
  const known = inputs.every(isKnown);
  if (known && canFold(node.op)) return fold(node, inputs as Known[]);
  const shapeOps = shapeOf(node, inputs, builder);
  if (shapeOps) return shapeOps;
  const rule = CONVERTERS[node.op];
  if (!rule) {
    throw new UnsupportedNode(describe(node), canFold(node.op) ? `${node.op} is imported only on constant inputs, not on the model's input` : `the op ${node.op} has no rule in the GraphModel importer`);
  }
  const out = rule(new Context(node, inputs, builder, cache));
  return Array.isArray(out) ? out : [out];
}

/** Shape, ShapeN, Size and Rank of computed values: known, with NaN for the batch size. */
function shapeOf(node: NodeDef, inputs: Value[], builder: GraphBuilder): Value[] | null {
  const full = (v: Value) => (isKnown(v) ? [...v.shape] : [Number.NaN, ...builder.shapeOf(v.slot)]);
  const dtype = new Attrs(node).dtype('out_type') ?? 'int32';
  switch (node.op) {
    case 'Shape':
    case 'ShapeN':
      return inputs.map((v) => Known.of(dtype, [full(v).length], full(v)));
    case 'Size':
      return [Known.of(dtype, [], [full(inputs[0]!).reduce((a, b) => a * b, 1)])];
    case 'Rank':
      return [Known.of('int32', [], [full(inputs[0]!).length])];
    default:
      return null;
  }
}

/** The nodes the output depends on, each after its inputs. */
function order(output: string, byName: Map<string, NodeDef>): NodeDef[] {
  const done = new Set<string>();
  const onPath = new Set<string>();
  const sorted: NodeDef[] = [];
  const stack: { name: string; expanded: boolean }[] = [{ name: output, expanded: false }];
  while (stack.length) {
    const top = stack.pop()!;
    if (top.expanded) {
      onPath.delete(top.name);
      done.add(top.name);
      sorted.push(byName.get(top.name)!);
      continue;
    }
    if (done.has(top.name)) continue;
    if (onPath.has(top.name)) throw new UnsupportedNode(top.name, 'a cycle (control flow loops are not imported)');
    const node = byName.get(top.name);
    if (!node) throw new UnsupportedNode(top.name, 'a node the topology does not define');
    onPath.add(top.name);
    stack.push({ name: top.name, expanded: true });
    for (const ref of dataInputs(node).reverse()) if (!done.has(ref.node)) stack.push({ name: ref.node, expanded: false });
  }
  return sorted;
}

function outputRef(topology: GraphDef, byName: Map<string, NodeDef>, options: GraphImportOptions & { signature?: Signature }): TensorRef {
  let candidates: TensorRef[];
  if (options.output !== undefined) {
    candidates = [parseRef(options.output)!];
  } else if (options.signature?.outputs && Object.keys(options.signature.outputs).length) {
    candidates = Object.values(options.signature.outputs).map((o) => parseRef(o.name ?? '')!);
  } else {
    const read = new Set(topology.node.flatMap((n) => dataInputs(n).map((r) => r.node)));
    candidates = topology.node.filter((n) => !read.has(n.name) && n.op !== 'Const' && n.op !== 'NoOp' && !n.op.startsWith('Placeholder')).map((n) => ({ node: n.name, index: 0 }));
  }
  if (candidates.length !== 1 || !byName.has(candidates[0]!.node)) {
    throw new RobustestError('INVALID_OPTION', 'importGraphModel(): cannot tell which node is the model\'s output.', {
      expected: options.output !== undefined ? 'options.output naming a node of the graph' : 'a graph with one output, or options.output naming one',
      received: candidates.length ? candidates.map((c) => c.node).join(', ') : 'no output node',
    });
  }
  return candidates[0]!;
}

function inputNode(topology: GraphDef, byName: Map<string, NodeDef>, options: GraphImportOptions & { signature?: Signature }): NodeDef {
  let names: string[];
  if (options.input !== undefined) names = [parseRef(options.input)!.node];
  else if (options.signature?.inputs && Object.keys(options.signature.inputs).length) names = Object.values(options.signature.inputs).map((i) => parseRef(i.name ?? '')!.node);
  else names = topology.node.filter((n) => n.op === 'Placeholder').map((n) => n.name);
  const node = names.length === 1 ? byName.get(names[0]!) : undefined;
  if (!node) {
    throw new RobustestError('INVALID_OPTION', 'importGraphModel(): cannot tell which node is the model\'s input.', {
      expected: options.input !== undefined ? 'options.input naming a Placeholder of the graph' : 'a graph with one Placeholder, or options.input naming one',
      received: names.length ? names.join(', ') : 'no Placeholder',
    });
  }
  return node;
}

function inputShape(input: NodeDef, options: GraphImportOptions): number[] {
  const declared = new Attrs(input).shape('shape');
  if (options.inputShape) {
    const given = [...options.inputShape];
    const compatible = !declared || (declared.length === given.length + 1 && declared.slice(1).every((d, i) => d < 0 || d === given[i]));
    if (!compatible || !given.every((d) => Number.isInteger(d) && d > 0)) {
      throw new RobustestError('INVALID_OPTION', `importGraphModel(): inputShape does not fit the input ${input.name}.`, {
        expected: declared ? `a per-sample shape matching [${declared.slice(1).map((d) => (d < 0 ? '?' : d)).join(', ')}]` : 'positive integers',
        received: `[${given.join(', ')}]`,
      });
    }
    return given;
  }
  if (!declared || declared.length < 2 || declared.slice(1).some((d) => d < 0)) {
    throw new RobustestError('INVALID_OPTION', `importGraphModel(): the input ${input.name} has no fixed per-sample shape.`, {
      expected: 'options.inputShape, e.g. [224, 224, 3]',
      received: declared ? `[${declared.map((d) => (d < 0 ? '?' : d)).join(', ')}]` : 'an unknown shape',
    });
  }
  return declared.slice(1);
}
