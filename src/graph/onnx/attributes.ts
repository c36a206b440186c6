/** Typed access to a node's attributes, with ONNX's defaults given at the call site. */
import type { HostTensor } from './host-tensor.js';
import { readTensor } from './initializers.js';
import { int, type NodeProto } from './proto.js';

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
}
