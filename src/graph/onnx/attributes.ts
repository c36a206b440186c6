/** Typed access to a node's attributes, with ONNX's defaults given at the call site. */
import type { HostTensor } from './host-tensor.js';
import { readTensor } from './initializers.js';
import { int, type NodeProto } from './proto.js';
import { UnsupportedNode } from '../types.js';

export class Attributes {
  private readonly byName = new Map<string, NonNullable<NodeProto['attribute']>[number]>();

  constructor(
    node: NodeProto,
    private readonly source: string,
  ) {
    for (const a of node.attribute ?? []) if (a.name) this.byName.set(a.name, a);
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  int(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a ? int(a.i) : fallback;
  }

  float(name: string, fallback: number): number {
    const a = this.byName.get(name);
    return a && a.f !== null && a.f !== undefined ? a.f : fallback;
  }

  ints(name: string): number[] | undefined {
    const a = this.byName.get(name);
    return a ? (a.ints ?? []).map((v) => int(v)) : undefined;
  }

  floats(name: string): number[] | undefined {
    const a = this.byName.get(name);
    return a ? [...(a.floats ?? [])] : undefined;
  }

  string(name: string, fallback: string): string {
    const a = this.byName.get(name);
    return a?.s ? new TextDecoder().decode(a.s) : fallback;
  }

  tensor(name: string): HostTensor | undefined {
    const a = this.byName.get(name);
    return a?.t ? readTensor(a.t, `${this.source} attribute ${name}`) : undefined;
  }

  /** Refuses an attribute whose value would change the result in a way no rule covers. */
  expect(name: string, value: number | string, fallback: number | string): void {
    const actual = typeof value === 'number' ? this.int(name, fallback as number) : this.string(name, fallback as string);
    if (actual !== value) throw new UnsupportedNode(this.source, `${name} = ${JSON.stringify(actual)} is not supported (only ${JSON.stringify(value)})`);
  }
}
