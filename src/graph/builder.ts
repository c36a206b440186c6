/**
 * What every importer builds a ModelGraph with: slots with shapes, weights the graph owns, and
 * the final softmax peeled off.
 */
import * as tf from '@tensorflow/tfjs-core';
import { untracked } from '../engine/hygiene.js';
import { outputShape } from './shapes.js';
import type { ModelGraph, Node, Op, Weight } from './types.js';

export class GraphBuilder {
  private readonly nodes: Node[] = [];
  private readonly shapes: number[][] = [];
  private readonly owned: tf.Tensor[] = [];
  readonly input: number;

  constructor(
    private readonly format: ModelGraph['format'],
    inputShape: readonly number[],
  ) {
    this.input = this.slot(inputShape);
  }

  private slot(shape: readonly number[]): number {
    this.shapes.push([...shape]);
    return this.shapes.length - 1;
  }

  shapeOf(slot: number): readonly number[] {
    return this.shapes[slot]!;
  }

  /** Appends a node; its output shape comes from shapes.ts unless given (opaque nodes). */
  add(op: Op, inputs: readonly number[], source: string, shape?: readonly number[]): number {
    const out = this.slot(shape ?? outputShape(op, inputs.map((s) => this.shapes[s]!), source));
    this.nodes.push({ op, inputs: [...inputs], output: out, source });
    return out;
  }

  /** The node that writes a slot, if any. */
  producer(slot: number): Node | undefined {
    return this.nodes.find((n) => n.output === slot);
  }

  /**
   * A weight from host values. Its tensor is made on first use and owned by the graph: made
   * outside any call's ownership, so no call frees it (hygiene.ts).
   */
  weight(values: Float32Array, shape: readonly number[]): Weight {
    let tensor: tf.Tensor | null = null;
    return {
      shape: [...shape],
      tensor: () => {
        if (!tensor || tensor.isDisposed) {
          // Kept: it may be first read inside a tf.tidy, which must not free it.
          tensor = untracked(() => tf.keep(tf.tensor(values, [...shape], 'float32')));
          this.owned.push(tensor);
        }
        return tensor;
      },
    };
  }

  /** Ends the graph at `output`, leaving out a final softmax over the last axis. */
  build(output: number): ModelGraph {
    let nodes = this.nodes;
    let peeledSoftmax = false;
    const last = nodes.find((n) => n.output === output);
    if (last?.op.kind === 'softmax' && this.shapes[output]!.length === 1) {
      output = last.inputs[0]!;
      nodes = nodes.filter((n) => n !== last);
      peeledSoftmax = true;
    }
    // Nodes nothing reads on the way to the output are dropped (side branches, shape plumbing).
    const live = new Set([output]);
    const kept: Node[] = [];
    for (let i = nodes.length - 1; i >= 0; i--) {
      const n = nodes[i]!;
      if (!live.has(n.output)) continue;
      kept.unshift(n);
      for (const s of n.inputs) live.add(s);
    }
    const owned = this.owned;
    return {
      format: this.format,
      nodes: kept,
      input: this.input,
      output,
      shapes: this.shapes,
      peeledSoftmax,
      dispose: () => tf.dispose(owned.filter((t) => !t.isDisposed)),
    };
  }
}
