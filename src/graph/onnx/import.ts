/**
 * importOnnx: an ONNX model file → ModelGraph. Values known at import time (initializers,
 * Constants, shape arithmetic) are folded on the host; every other node becomes graph nodes
 * through its op family's rule. Only nodes on the path to the chosen output are read, so side
 * outputs and unused branches never need a rule.
 */
import { RobustestError, show } from '../../errors.js';
import { GraphBuilder } from '../builder.js';
import { UnsupportedNode, type ModelGraph } from '../types.js';
import { Attributes } from './attributes.js';
import { constValue, ImportContext, slotValue, type OnnxNode, type Value } from './context.js';
import { FOLDS } from './fold.js';
import { fuseGelu } from './fusion.js';
import { readTensor } from './initializers.js';
import { storedShapeOf } from './layout.js';
import { RULES } from './ops/index.js';
import { decodeModel, int, onnx, opsetOf, type GraphProto, type NodeProto, type ValueInfoProto } from './proto.js';

export interface OnnxImportOptions {
  /**
   * The layout of robustest's samples relative to the model's input. 'nchw': the model reads
   * NCHW images and samples are their NHWC transpose (onnxClassifier's `layout: 'nchw'`);
   * 'nhwc' (default): samples are fed exactly as the model reads them.
   */
  layout?: 'nchw' | 'nhwc';
  /** The model input to read. Default: the model's only input. */
  inputName?: string;
  /** The output to import. Default: the model's first output. */
  outputName?: string;
  /** Per-sample shape of the samples (NHWC with 'nchw'), where the model leaves dimensions symbolic. */
  inputShape?: readonly number[];
}

function sourceOf(node: NodeProto): string {
  return `${node.opType ?? '?'} '${node.name || node.output?.[0] || '?'}'`;
}

function checkOptions(options: OnnxImportOptions): void {
  if (options.layout !== undefined && options.layout !== 'nchw' && options.layout !== 'nhwc') {
    throw new RobustestError('INVALID_OPTION', 'importOnnx(): unknown `layout`.', { expected: "'nchw' | 'nhwc'", received: show(options.layout) });
  }
  if (options.inputShape !== undefined && (!Array.isArray(options.inputShape) || !options.inputShape.every((d) => Number.isInteger(d) && d > 0))) {
    throw new RobustestError('INVALID_OPTION', 'importOnnx(): `inputShape` is the per-sample shape, without the batch axis.', {
      expected: 'positive integers, e.g. [224, 224, 3]',
      received: show(options.inputShape),
    });
  }
}

function pickName(kind: 'input' | 'output', wanted: string | undefined, available: readonly string[]): string {
  if (wanted !== undefined ? available.includes(wanted) : available.length >= 1 && (kind === 'output' || available.length === 1)) return wanted ?? available[0]!;
  throw new RobustestError('INVALID_OPTION', wanted === undefined ? `The ONNX model has ${available.length} ${kind}s; name the one to use.` : `The ONNX model has no ${kind} '${wanted}'.`, {
    expected: `importOnnx(bytes, { ${kind}Name: one of ${show(available)} })`,
    received: wanted === undefined ? `${available.length} ${kind}s` : JSON.stringify(wanted),
  });
}

/** The per-sample shape the graph's input slot holds, and whether it holds an NCHW image NHWC. */
function inputSlot(info: ValueInfoProto, options: OnnxImportOptions): { shape: number[]; permuted: boolean } {
  const type = info.type?.tensorType;
  if (!type) throw new RobustestError('INVALID_MODEL', `ONNX input '${info.name}' is not a tensor.`, { expected: 'a float tensor input', received: 'a sequence, map or optional' });
  if (type.elemType !== onnx.TensorProto.DataType.FLOAT) {
    throw new RobustestError('INVALID_MODEL', `ONNX input '${info.name}' has element type ${type.elemType}.`, { expected: 'float32 inputs (element type 1)', received: String(type.elemType) });
  }
  const dims = (type.shape?.dim ?? []).map((d) => (d.dimValue !== null && d.dimValue !== undefined && int(d.dimValue) > 0 ? int(d.dimValue) : null));
  const perSample = dims.slice(1);
  const permuted = options.layout === 'nchw' && dims.length === 4;
  const declared = permuted ? storedShapeOf(perSample as number[], true) : perSample;
  const given = options.inputShape;
  if (given) {
    const fits = given.length === declared.length && declared.every((d, i) => d === null || d === given[i]);
    if (!fits) {
      throw new RobustestError('INVALID_SHAPE', `inputShape does not fit ONNX input '${info.name}'.`, {
        expected: `[${declared.map((d) => d ?? '?').join(', ')}]${permuted ? ' (NHWC of the model’s NCHW input)' : ''}`,
        received: `[${given.join(', ')}]`,
      });
    }
    return { shape: [...given], permuted };
  }
  if (dims.length < 2 || declared.some((d) => d === null)) {
    throw new RobustestError('INVALID_SHAPE', `ONNX input '${info.name}' has no fixed per-sample shape.`, {
      expected: `a model input [batch, …fixed sizes], or importOnnx(bytes, { inputShape: [...] })`,
      received: `[${dims.map((d, i) => d ?? type.shape?.dim?.[i]?.dimParam ?? '?').join(', ')}]`,
    });
  }
  return { shape: declared as number[], permuted };
}

/** The nodes the output depends on, in the model's (topological) order. */
function needed(nodes: readonly NodeProto[], output: string): NodeProto[] {
  const producer = new Map<string, NodeProto>();
  for (const n of nodes) for (const o of n.output ?? []) producer.set(o, n);
  const keep = new Set<NodeProto>();
  const stack = [output];
  while (stack.length > 0) {
    const n = producer.get(stack.pop()!);
    if (!n || keep.has(n)) continue;
    keep.add(n);
    for (const i of n.input ?? []) if (i) stack.push(i);
  }
  return nodes.filter((n) => keep.has(n));
}

function scalarLookup(graph: GraphProto): (name: string) => number | undefined {
  const scalars = new Map<string, number>();
  const note = (name: string, t: ReturnType<typeof readTensor>) => {
    if (t.data.length === 1) scalars.set(name, t.data[0]!);
  };
  for (const t of graph.initializer ?? []) if (t.name && (t.dims ?? []).reduce<number>((a, d) => a * int(d), 1) === 1) note(t.name, readTensor(t, t.name));
  for (const n of graph.node ?? []) {
    const value = n.opType === 'Constant' ? n.attribute?.find((a) => a.name === 'value')?.t : undefined;
    if (value && n.output?.[0]) note(n.output[0], readTensor(value, n.output[0]));
  }
  return (name) => scalars.get(name);
}

export function importOnnx(bytes: Uint8Array | ArrayBuffer, options: OnnxImportOptions = {}): ModelGraph {
  checkOptions(options);
  const model = decodeModel(bytes);
  const graph = model.graph!;
  const opset = opsetOf(model);
  const values = new Map<string, Value>();
  for (const t of graph.initializer ?? []) if (t.name) values.set(t.name, constValue(readTensor(t, t.name)));
  if ((graph.sparseInitializer ?? []).length > 0) throw new UnsupportedNode('graph', 'sparse initializers');

  const inputs = (graph.input ?? []).filter((i) => i.name && !values.has(i.name));
  const inputName = pickName('input', options.inputName, inputs.map((i) => i.name!));
  const outputName = pickName('output', options.outputName, (graph.output ?? []).map((o) => o.name ?? ''));
  const input = inputSlot(inputs.find((i) => i.name === inputName)!, options);
  const builder = new GraphBuilder('onnx', input.shape);
  const ctx = new ImportContext(builder);
  values.set(inputName, slotValue(builder.input, input.permuted));

  const nodes = needed(fuseGelu(graph.node ?? [], scalarLookup(graph)), outputName);
  for (const proto of nodes) {
    const source = sourceOf(proto);
    if (proto.domain && proto.domain !== 'ai.onnx') throw new UnsupportedNode(source, `op of domain '${proto.domain}': only standard ONNX ops have graph rules`);
    const resolved = (proto.input ?? []).map((name) => {
      if (!name) return null;
      const v = values.get(name);
      if (v) return v;
      if (inputs.some((i) => i.name === name)) throw new UnsupportedNode(source, `reads a second model input '${name}'`);
      throw new UnsupportedNode(source, `reads '${name}', which no imported node computes`);
    });
    const node: OnnxNode = { opType: proto.opType ?? '', source, inputs: resolved, outputs: proto.output ?? [], attrs: new Attributes(proto, source), opset };
    const fold = FOLDS[node.opType];
    const allKnown = resolved.length > 0 && resolved.every((v) => v === null || v.kind === 'const');
    let produced: Value | readonly Value[];
    if (fold && allKnown) {
      produced = constValue(fold(node, resolved.map((v) => (v?.kind === 'const' ? v.tensor : null))));
    } else {
      const rule = RULES[node.opType];
      if (!rule) throw new UnsupportedNode(source, `ONNX op ${node.opType} (opset ${opset}) has no graph rule`);
      produced = rule(node, ctx);
    }
    const list = Array.isArray(produced) ? produced : [produced as Value];
    list.forEach((v, i) => {
      const name = node.outputs[i];
      if (name) values.set(name, v);
    });
  }

  const out = values.get(outputName);
  if (!out) throw new UnsupportedNode(`output '${outputName}'`, 'no node computes it');
  if (out.kind !== 'slot') throw new UnsupportedNode(`output '${outputName}'`, 'does not depend on the model input');
  return builder.build(ctx.onnxOrdered(out, `output '${outputName}'`));
}
