/**
 * The state of one import: the graph being built, what each ONNX value name holds (a graph slot,
 * with its layout, or a value known at import time), and the layout-aware moves every op rule
 * shares (making a value NHWC, reshaping across layouts, placing a constant beside a slot).
 */
import type { GraphBuilder } from '../builder.js';
import { UnsupportedNode, type Weight } from '../types.js';
import type { Attributes } from './attributes.js';
import { sizeOf, toFloat32, transposeHost, type HostTensor } from './host-tensor.js';
import { isIdentity, onnxAxisOf, onnxShapeOf, sameMemoryOrder, storedAxis, storedShapeOf, TO_ONNX_ORDER, TO_STORED_ORDER } from './layout.js';

export type Value =
  /** A graph slot; `permuted`: a rank-4 ONNX (NCHW) value held NHWC. */
  | { readonly kind: 'slot'; readonly slot: number; readonly permuted: boolean }
  | { readonly kind: 'const'; readonly tensor: HostTensor };

export interface OnnxNode {
  readonly opType: string;
  /** "OpType 'name'", for messages and the graph's node sources. */
  readonly source: string;
  /** Resolved inputs; null for an absent optional input. */
  readonly inputs: readonly (Value | null)[];
  readonly outputs: readonly string[];
  readonly attrs: Attributes;
  readonly opset: number;
}

/** One op family's rule: the values a node's outputs hold. */
export type Rule = (node: OnnxNode, ctx: ImportContext) => Value | readonly Value[];

export function slotValue(slot: number, permuted: boolean): Value {
  return { kind: 'slot', slot, permuted };
}

export function constValue(tensor: HostTensor): Value {
  return { kind: 'const', tensor };
}

export class ImportContext {
  constructor(readonly builder: GraphBuilder) {}

  /** Full ONNX shape of a value; a slot's batch axis is NaN. */
  onnxShape(v: Value): number[] {
    return v.kind === 'const' ? [...v.tensor.shape] : onnxShapeOf(this.builder.shapeOf(v.slot), v.permuted);
  }

  rank(v: Value): number {
    return v.kind === 'const' ? v.tensor.shape.length : this.builder.shapeOf(v.slot).length + 1;
  }

  /** The per-sample stored axis of a slot's ONNX axis; the batch axis is refused. */
  storedAxis(v: Value & { kind: 'slot' }, onnxAxis: number, source: string): number {
    if (onnxAxis === 0) throw new UnsupportedNode(source, 'acts on the batch axis');
    return storedAxis(v.permuted, onnxAxis);
  }

  input(node: OnnxNode, index: number, what = `input ${index}`): Value {
    const v = node.inputs[index];
    if (!v) throw new UnsupportedNode(node.source, `has no ${what}`);
    return v;
  }

  /** A slot input; values known at import time are folded before rules run, so this is rare. */
  slotInput(node: OnnxNode, index: number): Value & { kind: 'slot' } {
    const v = this.input(node, index);
    if (v.kind !== 'slot') throw new UnsupportedNode(node.source, `input ${index} is a constant where a model value is needed`);
    return v;
  }

  /** An input known at import time (weights, shapes, axes). */
  constInput(node: OnnxNode, index: number, what: string): HostTensor {
    const v = this.input(node, index, what);
    if (v.kind !== 'const') throw new UnsupportedNode(node.source, `${what} must be known at import time (an initializer or a Constant), but it is computed from the model input`);
    return v.tensor;
  }

  optionalConst(node: OnnxNode, index: number, what: string): HostTensor | null {
    return node.inputs[index] ? this.constInput(node, index, what) : null;
  }

  weight(t: HostTensor, shape: readonly number[] = t.shape): Weight {
    return this.builder.weight(toFloat32(t), shape);
  }

  /** A rank-4 value held NHWC; a rank-4 value in ONNX order gets a transpose. */
  permuted(v: Value & { kind: 'slot' }, source: string): Value & { kind: 'slot' } {
    if (v.permuted) return v;
    if (this.rank(v) !== 4) throw new UnsupportedNode(source, `expects an NCHW image, got a value of shape [${this.onnxShape(v).slice(1).join(', ')}] per sample`);
    const slot = this.builder.add({ kind: 'transpose', perm: TO_STORED_ORDER }, [v.slot], source);
    return { kind: 'slot', slot, permuted: true };
  }

  /** A slot holding the value in ONNX order and shape (per sample). */
  onnxOrdered(v: Value & { kind: 'slot' }, source: string): number {
    if (!v.permuted) return v.slot;
    const onnx = this.onnxShape(v).slice(1);
    if (sameMemoryOrder(onnx)) return this.builder.add({ kind: 'reshape', shape: onnx }, [v.slot], source);
    return this.builder.add({ kind: 'transpose', perm: TO_ONNX_ORDER }, [v.slot], source);
  }

  /**
   * The value reshaped to ONNX per-sample shape `target` (fully resolved), in ONNX row-major
   * order: what Reshape, Flatten, Squeeze and Unsqueeze compute. A rank-3 target (an image) is
   * held NHWC. Transposes are inserted only where the memory order really differs.
   */
  reshape(v: Value & { kind: 'slot' }, target: readonly number[], source: string): Value & { kind: 'slot' } {
    const from = this.onnxShape(v).slice(1);
    if (sizeOf(from) !== sizeOf(target)) throw new UnsupportedNode(source, `cannot reshape [${from.join(', ')}] to [${target.join(', ')}] per sample`);
    let slot = v.slot;
    if (v.permuted && !sameMemoryOrder(from)) slot = this.builder.add({ kind: 'transpose', perm: TO_ONNX_ORDER }, [slot], source);
    const permuted = target.length === 3;
    if (permuted && !sameMemoryOrder(target)) {
      slot = this.reshapeSlot(slot, target, source);
      slot = this.builder.add({ kind: 'transpose', perm: TO_STORED_ORDER }, [slot], source);
    } else {
      slot = this.reshapeSlot(slot, storedShapeOf(target, permuted), source);
    }
    return { kind: 'slot', slot, permuted };
  }

  private reshapeSlot(slot: number, shape: readonly number[], source: string): number {
    const current = this.builder.shapeOf(slot);
    if (current.length === shape.length && current.every((d, i) => d === shape[i])) return slot;
    return this.builder.add({ kind: 'reshape', shape: [...shape] }, [slot], source);
  }

  /**
   * ONNX Transpose with full permutation `perm` (batch stays first). The output is held NHWC
   * when it is rank 4; no node when the stored order does not change.
   */
  transpose(v: Value & { kind: 'slot' }, perm: readonly number[], source: string): Value & { kind: 'slot' } {
    if (perm[0] !== 0) throw new UnsupportedNode(source, `moves the batch axis (perm [${perm.join(', ')}])`);
    const rank = perm.length;
    const storedPerm = (permuted: boolean) => Array.from({ length: rank - 1 }, (_, j) => this.storedAxis(v, perm[onnxAxisOf(permuted, j)]!, source));
    // A rank-4 result is held NHWC, unless holding it in ONNX order costs no node: a transpose
    // to NHWC (tf2onnx's) then leaves an NCHW value's slot as it is.
    if (rank === 4 && !isIdentity(storedPerm(true)) && isIdentity(storedPerm(false))) return { kind: 'slot', slot: v.slot, permuted: false };
    const permuted = rank === 4;
    const stored = storedPerm(permuted);
    if (isIdentity(stored)) return { kind: 'slot', slot: v.slot, permuted };
    return { kind: 'slot', slot: this.builder.add({ kind: 'transpose', perm: stored }, [v.slot], source), permuted };
  }

  /**
   * A constant operand of an elementwise op beside slot `partner`, as a constant slot laid out
   * like the partner: a leading batch axis of 1 dropped, NCHW constants ([C, 1, 1]) moved to NHWC.
   */
  constantBeside(c: HostTensor, partner: Value & { kind: 'slot' }, source: string): number {
    const rank = this.rank(partner);
    if (c.shape.length > rank) throw new UnsupportedNode(source, `a constant of shape [${c.shape.join(', ')}] broadcasts past the model value's batch axis`);
    let t = c;
    if (partner.permuted) {
      const full = [...new Array<number>(4 - t.shape.length).fill(1), ...t.shape];
      t = transposeHost({ ...t, shape: full }, [0, 2, 3, 1]);
    }
    if (t.shape.length === rank) {
      if (t.shape[0] !== 1) throw new UnsupportedNode(source, `a constant of shape [${c.shape.join(', ')}] differs along the batch axis`);
      t = { ...t, shape: t.shape.slice(1) };
    }
    return this.builder.add({ kind: 'constant', value: this.weight(t) }, [], source);
  }
}
