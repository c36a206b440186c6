/**
 * What a converter sees of the node it turns into graph nodes: its attributes, its input values
 * (known or computed), and ways to add nodes and weights to the graph being built.
 */
import type { GraphBuilder } from '../builder.js';
import type { Op, Weight } from '../types.js';
import { UnsupportedNode } from '../types.js';
import { Attrs, describe, type NodeDef } from './graphdef.js';
import { computed, isKnown, Known, type Computed, type Value } from './values.js';

export class Context {
  readonly attrs: Attrs;
  readonly source: string;

  constructor(
    readonly node: NodeDef,
    readonly inputs: readonly Value[],
    private readonly builder: GraphBuilder,
    private readonly weights: WeightCache,
  ) {
    this.attrs = new Attrs(node);
    this.source = describe(node);
  }

  fail(why: string): never {
    throw new UnsupportedNode(this.source, why);
  }

  input(i: number): Value {
    const v = this.inputs[i];
    if (!v) this.fail(`has no input ${i}`);
    return v;
  }

  /** An input that must depend on the model's input (the data an op transforms). */
  computed(i: number): Computed {
    const v = this.input(i);
    if (isKnown(v)) this.fail(`input ${i} is a constant where the model's input was expected`);
    return v;
  }

  /** An input that must be known at import (a filter, an axis, a shape). */
  known(i: number, what: string): Known {
    const v = this.input(i);
    if (!isKnown(v)) this.fail(`its ${what} depends on the model's input; only constant ${what}s are imported`);
    return v;
  }

  /** Per-sample shape of a computed value. */
  shape(v: Computed): readonly number[] {
    return this.builder.shapeOf(v.slot);
  }

  /** A full-tensor axis (batch first) as a per-sample axis; the batch axis itself is refused. */
  sampleAxis(axis: number, v: Computed): number {
    const rank = this.shape(v).length + 1;
    const a = axis < 0 ? axis + rank : axis;
    if (a < 0 || a >= rank) this.fail(`axis ${axis} out of range for a rank-${rank} tensor`);
    if (a === 0) this.fail('it operates across the batch axis');
    return a - 1;
  }

  add(op: Op, inputs: readonly Computed[], shape?: readonly number[]): Computed {
    return computed(this.builder.add(op, inputs.map((v) => v.slot), this.source, shape));
  }

  /** A known value as a graph weight of the given full shape (its own by default). */
  weight(value: Known, shape: readonly number[] = value.shape): Weight {
    return this.weights.of(value, shape);
  }

  /**
   * A value as an operand of an elementwise op with `partner` (a computed value): known values
   * become constant nodes, their shape read per sample. A known value whose leading axis lines up
   * with the batch must have length 1 there (TensorFlow would otherwise tie it to a batch size).
   */
  operand(v: Value, partner: Computed): Computed {
    if (!isKnown(v)) return v;
    const rank = this.shape(partner).length;
    let shape = [...v.shape];
    if (shape.length === rank + 1) {
      if (shape[0] !== 1) this.fail(`a constant of shape [${shape.join(', ')}] fixes the batch size to ${shape[0]}`);
      shape = shape.slice(1);
    } else if (shape.length > rank + 1) {
      this.fail(`a constant of rank ${shape.length} against a rank-${rank + 1} input`);
    }
    return this.add({ kind: 'constant', value: this.weight(v, shape) }, []);
  }
}

/**
 * Weights made once per known value and shape: a Const used as it was loaded stays the model's
 * tensor (no copy); any other shape or a folded value becomes a weight the graph owns.
 */
export class WeightCache {
  private readonly made = new Map<Known, Map<string, Weight>>();

  constructor(private readonly builder: GraphBuilder) {}

  of(value: Known, shape: readonly number[]): Weight {
    const key = shape.join(',');
    let byShape = this.made.get(value);
    if (!byShape) this.made.set(value, (byShape = new Map()));
    let w = byShape.get(key);
    if (!w) {
      const tensor = value.tensor;
      if (tensor && tensor.dtype === 'float32' && key === value.shape.join(',')) {
        w = { shape: [...shape], tensor: () => tensor };
      } else {
        w = this.builder.weight(Float32Array.from(value.values), shape);
      }
      byShape.set(key, w);
    }
    return w;
  }
}
