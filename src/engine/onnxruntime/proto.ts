/**
 * Writes an ONNX model (opset 17) with onnx-proto: nodes with generated value names, float and
 * int64 initializers stored raw, one dynamic batch dimension on every batched graph input and output.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export const OPSET = 17;

export type Attribute = { i: number } | { f: number } | { ints: readonly number[] } | { s: string };

export interface ValueSpec {
  readonly name: string;
  /** Per-sample dimensions; the batch dimension 'N' is prepended. */
  readonly shape: readonly number[];
  readonly type?: 'float32' | 'int64';
  /** False for a value without the batch dimension (a scalar fed once per run). Default true. */
  readonly batched?: boolean;
}

const FLOAT = 1;
const INT64 = 7;

export class OnnxWriter {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly constantCache = new Map<string, string>();
  private count = 0;

  /** A fresh value name. */
  name(hint: string): string {
    return `${hint}_${this.count++}`;
  }

  /** Appends a node and returns its output names (`outputs` of them). */
  ops(type: string, inputs: readonly string[], attributes: Record<string, Attribute> = {}, outputs = 1): string[] {
    const names = Array.from({ length: outputs }, () => this.name(type));
    this.nodes.push({
      opType: type,
      input: [...inputs],
      output: names,
      name: names[0],
      attribute: Object.entries(attributes).map(([name, a]) => attribute(name, a)),
    });
    return names;
  }

  /** Gives `value` a fixed name (a graph output) through an Identity node. */
  alias(value: string, as: string): void {
    this.nodes.push({ opType: 'Identity', input: [value], output: [as], name: as });
  }

  /** Appends a single-output node. */
  op(type: string, inputs: readonly string[], attributes: Record<string, Attribute> = {}): string {
    return this.ops(type, inputs, attributes)[0]!;
  }

  floats(values: Float32Array | readonly number[], dims: readonly number[], hint = 'w'): string {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`initializer of ${data.length} values for dims [${dims.join(', ')}]`);
    const name = this.name(hint);
    this.initializers.push({ name, dataType: FLOAT, dims: [...dims], rawData: new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength)) });
    return name;
  }

  /** An int64 initializer (shapes, axes, pads); identical ones are shared. */
  int64s(values: readonly number[], dims: readonly number[] = [values.length]): string {
    const key = `${dims.join('x')}:${values.join(',')}`;
    const known = this.constantCache.get(key);
    if (known) return known;
    const name = this.name('i');
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({ name, dataType: INT64, dims: [...dims], rawData: new Uint8Array(data.buffer) });
    this.constantCache.set(key, name);
    return name;
  }

  /** A float scalar; identical ones are shared. */
  scalar(value: number): string {
    const key = `f:${value}`;
    const known = this.constantCache.get(key);
    if (known) return known;
    const name = this.floats([value], [], 's');
    this.constantCache.set(key, name);
    return name;
  }

  /** Serialises the graph with these inputs and outputs. */
  /**
   * The model of the nodes the outputs depend on (a head that leaves an emitted value unnamed,
   * such as the loss's value, does not compute it) and the initializers they read.
   */
  encode(inputs: readonly ValueSpec[], outputs: readonly ValueSpec[]): Uint8Array {
    const needed = new Set(outputs.map((o) => o.name));
    // Nodes are in dependency order: walking back, a node is kept when a kept one (or an output) reads it.
    const kept: onnxProto.onnx.INodeProto[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i]!;
      if (!(n.output ?? []).some((o) => needed.has(o!))) continue;
      kept.push(n);
      for (const input of n.input ?? []) needed.add(input!);
    }
    kept.reverse();
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: 'robustest',
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: 'robustest',
        node: kept,
        initializer: this.initializers.filter((t) => needed.has(t.name!)),
        input: inputs.map(valueInfo),
        output: outputs.map(valueInfo),
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function attribute(name: string, a: Attribute): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in a) return { name, type: T.INT, i: a.i };
  if ('f' in a) return { name, type: T.FLOAT, f: a.f };
  if ('ints' in a) return { name, type: T.INTS, ints: [...a.ints] };
  return { name, type: T.STRING, s: new TextEncoder().encode(a.s) };
}

function valueInfo(spec: ValueSpec): onnxProto.onnx.IValueInfoProto {
  return {
    name: spec.name,
    type: {
      tensorType: {
        elemType: spec.type === 'int64' ? INT64 : FLOAT,
        shape: { dim: [...(spec.batched === false ? [] : [{ dimParam: 'N' }]), ...spec.shape.map((d) => ({ dimValue: d }))] },
      },
    },
  };
}
