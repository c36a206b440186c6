/**
 * Runs a compiled model graph: forward for logits; for gradients, forward with every value kept,
 * dL/dlogits from the loss's closed form when it carries one (closed-form.ts) or else from
 * tf.grad on the small loss head, then each node's vector-Jacobian product in reverse order.
 * Values are freed as soon as the backward pass is past them; nothing but the returned tensors
 * outlives a call.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { GradientResult, LossFn, Network } from './types.js';
import type { Op } from './ops/op.js';
import { sharedPreparation } from './prepared.js';
import { discardFailedTape } from './tape.js';
import { logitGradientOf } from './closed-form.js';

export interface Node {
  readonly op: Op;
  readonly inputs: readonly number[];
  readonly output: number;
}

interface Flowing {
  gradient: tf.Tensor;
  reluMasked: boolean;
}

export class GraphNetwork implements Network {
  /** For each slot, the index of the last node reading it in the forward pass. */
  private readonly lastRead: number[];

  constructor(
    private readonly nodes: readonly Node[],
    private readonly input: number,
    private readonly output: number,
    slots: number,
    readonly peeledSoftmax: boolean,
    private readonly onDispose: () => void = () => {},
  ) {
    this.lastRead = new Array<number>(slots).fill(-1);
    nodes.forEach((node, i) => node.inputs.forEach((s) => (this.lastRead[s] = i)));
  }

  get gradientPath(): string {
    const autodiff = [...new Set(this.nodes.map((n) => n.op.autodiff).filter((a): a is string => a !== undefined))];
    if (autodiff.length === 0) return 'robustest engine';
    const onCpu = this.nodes.some((n) => n.op.onCpu);
    return `robustest engine + tf.grad for ${autodiff.join(', ')}${onCpu ? ' (on the cpu backend)' : ''}`;
  }

  forward(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const values = this.run(x, false);
      const logits = values[this.output]!;
      return (logits === x ? tf.clone(logits) : logits) as tf.Tensor2D;
    });
  }

  valueAndGradient(x: tf.Tensor, loss: LossFn): GradientResult {
    // Inside a robustest call, derived weights serve all its gradient calls (see Prepared).
    const shared = sharedPreparation();
    if (shared) this.prepare();
    let perSample: tf.Tensor1D | undefined;
    try {
      return tf.tidy(() => {
        if (!shared) this.prepare();
        const values = this.run(x, true);
        const logits = values[this.output] as tf.Tensor2D;
        let dLogits: tf.Tensor;
        const closedForm = logitGradientOf(loss);
        if (closedForm) {
          const head = closedForm(logits);
          perSample = head.loss;
          dLogits = head.gradient;
        } else {
          dLogits = tf.grad((z: tf.Tensor) => {
            perSample = tf.keep(loss(z as tf.Tensor2D));
            return tf.sum(perSample);
          })(logits);
        }
        const gradient = this.backward(values, dLogits, x);
        return { logits: logits === x ? tf.clone(logits) : logits, loss: perSample!, gradient };
      });
    } catch (error) {
      discardFailedTape();
      perSample?.dispose();
      throw error;
    }
  }

  dispose(): void {
    for (const node of this.nodes) node.op.dispose?.();
    this.onDispose();
  }

  private prepare(): void {
    for (const node of this.nodes) node.op.prepare?.();
  }

  /** Slot values; without `keepAll`, each is freed after its last reader. */
  private run(x: tf.Tensor, keepAll: boolean): tf.Tensor[] {
    const values: tf.Tensor[] = [];
    values[this.input] = x.dtype === 'float32' ? x : tf.cast(x, 'float32');
    this.nodes.forEach((node, i) => {
      const inputs = node.inputs.map((s) => values[s]!);
      const out = node.op.forward(inputs);
      // Each slot owns its tensor, so freeing one never frees another.
      values[node.output] = inputs.includes(out) ? tf.clone(out) : out;
      if (keepAll) return;
      for (const s of node.inputs) {
        if (this.lastRead[s] === i && s !== this.input && s !== this.output) values[s]!.dispose();
      }
    });
    return values;
  }

  private backward(values: tf.Tensor[], dLogits: tf.Tensor, x: tf.Tensor): tf.Tensor {
    const flowing: (Flowing | undefined)[] = [];
    flowing[this.output] = { gradient: dLogits, reluMasked: false };
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i]!;
      const incoming = flowing[node.output];
      if (!incoming) continue;
      flowing[node.output] = undefined;
      const results = node.op.backward({ dy: incoming.gradient, reluMasked: incoming.reluMasked }, node.inputs.map((s) => values[s]!), values[node.output]!);
      const handedOn = new Set<tf.Tensor>();
      results.forEach((result, k) => {
        if (!result) return;
        // The same tensor may be handed to several inputs (Add): each slot owns its own, and only
        // the last one the original, since a slot that already holds a gradient frees what it adds.
        const handedLater = results.slice(k + 1).some((r) => r?.gradient === result.gradient);
        const gradient = handedLater ? tf.clone(result.gradient) : result.gradient;
        handedOn.add(result.gradient);
        const slot = node.inputs[k]!;
        const existing = flowing[slot];
        if (existing) {
          flowing[slot] = { gradient: tf.add(existing.gradient, gradient), reluMasked: existing.reluMasked && result.reluMasked === true };
          tf.dispose([existing.gradient, gradient]);
        } else {
          flowing[slot] = { gradient, reluMasked: result.reluMasked === true };
        }
      });
      if (!handedOn.has(incoming.gradient)) incoming.gradient.dispose();
      // Every reader of this node's output has run its backward: the value is no longer needed.
      if (node.output !== this.output && node.output !== this.input) values[node.output]!.dispose();
    }
    return flowing[this.input]?.gradient ?? tf.zerosLike(x);
  }
}
