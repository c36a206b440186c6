/**
 * The GraphDef JSON that tfjs-converter writes as a GraphModel's `modelTopology` (TensorFlow's
 * NodeDef and AttrValue protos in their JSON form), and readers for node attributes that follow
 * tfjs-converter's own parsing: int64 values arrive as strings, strings as base64.
 */
import { UnsupportedNode } from '../types.js';

export interface AttrValue {
  s?: string | number[];
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string | number;
  shape?: { dim?: { size: string | number }[]; unknownRank?: boolean };
  tensor?: unknown;
  list?: { s?: (string | number[])[]; i?: (string | number)[]; f?: number[]; b?: boolean[] };
}

export interface NodeDef {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, AttrValue>;
}

export interface GraphDef {
  node: NodeDef[];
  library?: { function?: unknown[] };
}

/** A reference to one output of a node: `name`, `name:1`; control inputs (`^name`) are not data. */
export interface TensorRef {
  readonly node: string;
  readonly index: number;
}

export function parseRef(input: string): TensorRef | null {
  if (input.startsWith('^')) return null;
  const colon = input.lastIndexOf(':');
  if (colon > 0 && /^\d+$/.test(input.slice(colon + 1))) return { node: input.slice(0, colon), index: Number(input.slice(colon + 1)) };
  return { node: input, index: 0 };
}

/** The data inputs of a node, in order. */
export function dataInputs(node: NodeDef): TensorRef[] {
  return (node.input ?? []).map(parseRef).filter((r): r is TensorRef => r !== null);
}

export function describe(node: NodeDef): string {
  return `${node.name} (${node.op})`;
}

function text(s: string | number[]): string {
  return Array.isArray(s) ? String.fromCharCode(...s) : atob(s);
}

function integer(v: string | number): number {
  return typeof v === 'number' ? v : parseInt(v, 10);
}

/** TensorFlow's DataType enum, for topologies that spell types as numbers. */
const DATA_TYPES: Record<number, string> = { 1: 'DT_FLOAT', 2: 'DT_DOUBLE', 3: 'DT_INT32', 4: 'DT_UINT8', 5: 'DT_INT16', 6: 'DT_INT8', 7: 'DT_STRING', 9: 'DT_INT64', 10: 'DT_BOOL', 14: 'DT_BFLOAT16', 19: 'DT_HALF' };

/** Typed access to one node's attributes, with the node named in every complaint. */
export class Attrs {
  private readonly attr: Record<string, AttrValue>;

  constructor(private readonly node: NodeDef) {
    this.attr = node.attr ?? {};
  }

  has(name: string): boolean {
    return this.attr[name] !== undefined;
  }

  string(name: string, fallback: string): string {
    const a = this.attr[name];
    return a?.s === undefined ? fallback : text(a.s);
  }

  int(name: string, fallback: number): number {
    const a = this.attr[name];
    return a?.i === undefined ? fallback : integer(a.i);
  }

  float(name: string, fallback: number): number {
    const a = this.attr[name];
    if (a?.f !== undefined) return Number(a.f);
    return a?.i === undefined ? fallback : integer(a.i);
  }

  bool(name: string, fallback: boolean): boolean {
    const a = this.attr[name];
    return a?.b === undefined ? fallback : Boolean(a.b);
  }

  ints(name: string, fallback: readonly number[]): number[] {
    const list = this.attr[name]?.list;
    if (!list) return [...fallback];
    return (list.i ?? []).map(integer);
  }

  strings(name: string): string[] {
    return (this.attr[name]?.list?.s ?? []).map(text);
  }

  /** A dtype attribute as tfjs loads it: every integer type is int32, every float type float32. */
  dtype(name: string): 'float32' | 'int32' | 'bool' | null {
    const t = this.attr[name]?.type;
    if (t === undefined) return null;
    const key = typeof t === 'number' ? DATA_TYPES[t] : t;
    if (key === 'DT_FLOAT' || key === 'DT_HALF' || key === 'DT_DOUBLE' || key === 'DT_BFLOAT16') return 'float32';
    if (key === 'DT_INT32' || key === 'DT_INT64' || key === 'DT_INT8' || key === 'DT_UINT8' || key === 'DT_INT16') return 'int32';
    if (key === 'DT_BOOL') return 'bool';
    return null;
  }

  /** A shape attribute; −1 for unknown dimensions, null for unknown rank or none. */
  shape(name: string): number[] | null {
    const s = this.attr[name]?.shape;
    if (!s || s.unknownRank) return null;
    return (s.dim ?? []).map((d) => integer(d.size));
  }

  /** Only NHWC: the graph is channels-last and the batch axis leads. */
  requireChannelsLast(): void {
    const format = this.string('data_format', 'NHWC');
    if (format !== 'NHWC' && format !== 'NWC') throw new UnsupportedNode(describe(this.node), `data_format ${format} (only NHWC graphs are imported)`);
  }
}
