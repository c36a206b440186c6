/**
 * A graph run by onnxruntime: one session per emitted model (forward; forward + loss + gradient
 * per loss kind; forward + gradient from a logit cotangent), created on first use and kept.
 * Weights are copied into the models when they are emitted; a weight whose tensor changes
 * afterwards (a tfjs-layers model being trained) makes the next call emit them again.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelGraph, Weight } from '../../graph/types.js';
import { RobustestError, shapeString } from '../../errors.js';
import { lossSpecOf, type LossSpec } from '../loss-spec.js';
import { logitGradientOf } from '../tfjs/closed-form.js';
import type { GradientResult, LossFn } from '../tfjs/types.js';
import type { HostGradient } from '../host-gradient.js';
import { lossKey, lossKindOf } from './loss-head.js';
import { classesOf, emitModel, gradientShape, type Head } from './model.js';
import { sessionOptions, type OrtModule, type OrtSession, type OrtTensor } from './runtime.js';
import { borrow, giveBack } from '../buffers.js';
import { readInto } from '../tfjs/host-memory.js';
import type { StridedGradient } from './windows.js';

export interface OrtNetwork {
  readonly engine: 'onnxruntime';
  /** Logits, [N, classes]; the caller disposes them. */
  forward(x: tf.Tensor): Promise<tf.Tensor2D>;
  /** Logits, per-sample loss and d(Σ loss)/dx: new tensors the caller disposes, nothing else left live. */
  valueAndGradient(x: tf.Tensor, loss: LossFn): Promise<GradientResult>;
  /** Logits and input gradient of `loss` on host memory, or null for a loss that has no ONNX form (loss-head.ts). */
  hostGradient(loss: LossFn): HostGradient | null;
  readonly gradientPath: string;
  readonly peeledSoftmax: boolean;
  readonly threads: number;
  dispose(): void;
}

export class OnnxruntimeNetwork implements OrtNetwork {
  readonly engine = 'onnxruntime' as const;
  readonly peeledSoftmax: boolean;
  private readonly sessions = new Map<string, Promise<OrtSession>>();
  private readonly weights: readonly Weight[];
  private readonly classes: number;
  private emittedFrom: readonly [tf.Tensor, object][] = [];

  constructor(
    private readonly graph: ModelGraph,
    private readonly ort: OrtModule,
    readonly threads: number,
    private readonly strided: StridedGradient,
  ) {
    this.peeledSoftmax = graph.peeledSoftmax;
    this.weights = weightsOf(graph);
    this.classes = classesOf(graph);
  }

  get gradientPath(): string {
    const version = this.ort.env?.versions?.node;
    return `onnxruntime${version ? ` ${version}` : ''} (${this.threads} thread${this.threads === 1 ? '' : 's'}): one ONNX model computes logits, loss and input gradient`;
  }

  /** The session for `head`, emitting its model on first use. */
  session(head: Head): Promise<OrtSession> {
    if (this.stale()) this.release();
    const key = head.kind === 'loss' || head.kind === 'gradient' ? `${head.kind}:${lossKey(head.loss)}` : head.kind;
    let session = this.sessions.get(key);
    if (!session) {
      if (this.sessions.size === 0) this.emittedFrom = this.weights.map((w) => weightIdentity(w));
      session = this.ort.InferenceSession.create(emitModel(this.graph, head, this.strided), sessionOptions(this.threads));
      session.catch(() => this.sessions.delete(key));
      this.sessions.set(key, session);
    }
    return session;
  }

  async forward(x: tf.Tensor): Promise<tf.Tensor2D> {
    const input = this.input(x);
    try {
      const session = await this.session({ kind: 'forward' });
      return (await this.runInto(session, { x: input }, { logits: [x.shape[0]!, this.classes] })).logits as tf.Tensor2D;
    } finally {
      giveBack(input.data as Float32Array);
    }
  }

  async valueAndGradient(x: tf.Tensor, loss: LossFn): Promise<GradientResult> {
    const input = this.input(x);
    try {
      return await this.valueAndGradientOf(input, x.shape, loss);
    } finally {
      giveBack(input.data as Float32Array);
    }
  }

  private async valueAndGradientOf(input: OrtTensor, shape: readonly number[], loss: LossFn): Promise<GradientResult> {
    const n = shape[0]!;
    const spec = lossSpecOf(loss);
    if (spec) {
      const session = await this.session({ kind: 'loss', loss: lossKindOf(spec) });
      const out = await this.runInto(session, { x: input, ...this.classFeeds(spec, n) }, { logits: [n, this.classes], loss: [n], gradient: shape });
      return { logits: out.logits as tf.Tensor2D, loss: out.loss as tf.Tensor1D, gradient: out.gradient! };
    }
    // Any other loss: logits here, its logit gradient from tfjs, then the backward pass here.
    const forward = await this.session({ kind: 'forward' });
    const logits = (await this.runInto(forward, { x: input }, { logits: [n, this.classes] })).logits as tf.Tensor2D;
    let head: { loss: tf.Tensor1D; dLogits: Float32Array };
    try {
      head = lossHead(loss, logits);
    } catch (error) {
      logits.dispose();
      throw error;
    }
    try {
      const backward = await this.session({ kind: 'cotangent' });
      const out = await this.runInto(backward, { x: input, dlogits: new this.ort.Tensor('float32', head.dLogits, [n, this.classes]) }, { gradient: shape });
      return { logits, loss: head.loss, gradient: out.gradient! };
    } catch (error) {
      tf.dispose([logits, head.loss]);
      throw error;
    }
  }

  /** Runs `session` with each output of `outputs` written into a borrowed buffer, returned as a tensor. */
  private async runInto(session: OrtSession, feeds: Record<string, OrtTensor>, outputs: Record<string, readonly number[]>): Promise<Record<string, tf.Tensor>> {
    const names = Object.keys(outputs);
    const buffers = names.map((name) => borrow(outputs[name]!.reduce((a, b) => a * b, 1)));
    try {
      await session.run(feeds, Object.fromEntries(names.map((name, i) => [name, new this.ort.Tensor('float32', buffers[i]!, outputs[name]!)])));
      return Object.fromEntries(names.map((name, i) => [name, ownedTensor(buffers[i]!, outputs[name]!)]));
    } finally {
      giveBack(...buffers);
    }
  }

  hostGradient(loss: LossFn): HostGradient | null {
    const spec = lossSpecOf(loss);
    if (!spec) return null;
    const shape = this.graph.shapes[this.graph.input]!;
    // The same values, in the shape the model writes them (flat for an MLP): the caller's array is only renamed.
    const written = gradientShape(this.graph);
    // The loss's classes, as one-hot rows: the same for every call on this loss's rows.
    let classes: Record<string, OrtTensor> | undefined;
    return async (x, rows, gradient, logits) => {
      const session = await this.session({ kind: 'gradient', loss: lossKindOf(spec) });
      if (!classes || rows !== spec.labels.length) classes = this.classFeeds(spec, rows);
      await session.run(
        { x: new this.ort.Tensor('float32', x, [rows, ...shape]), ...classes },
        {
          logits: new this.ort.Tensor('float32', logits, [rows, this.classes]),
          gradient: new this.ort.Tensor('float32', gradient, [rows, ...written]),
        },
      );
    };
  }

  dispose(): void {
    this.release();
  }

  private release(): void {
    for (const session of this.sessions.values()) session.then((s) => s.release()).catch(() => undefined);
    this.sessions.clear();
  }

  private stale(): boolean {
    if (this.sessions.size === 0) return false;
    return this.weights.some((w, i) => {
      const [tensor, data] = weightIdentity(w);
      return tensor !== this.emittedFrom[i]![0] || data !== this.emittedFrom[i]![1];
    });
  }

  private input(x: tf.Tensor): OrtTensor {
    const expected = this.graph.shapes[this.graph.input]!;
    if (x.rank !== expected.length + 1 || expected.some((d, i) => x.shape[i + 1] !== d)) {
      throw new RobustestError('INVALID_SHAPE', 'The onnxruntime executor was given a batch of the wrong shape.', {
        expected: shapeString([null, ...expected]),
        received: shapeString(x.shape),
      });
    }
    // A borrowed buffer: the caller gives it back once the run that reads it is over.
    return new this.ort.Tensor('float32', readInto(x, borrow(x.size)), x.shape);
  }

  /** The loss's classes as the one-hot rows its emitted head reads. */
  private classFeeds(spec: LossSpec, n: number): Record<string, OrtTensor> {
    const feeds: Record<string, OrtTensor> = { own: this.oneHot(spec.labels, n, spec) };
    if (spec.targets) feeds.target = this.oneHot(spec.targets, n, spec);
    return feeds;
  }

  private oneHot(classes: Int32Array, n: number, spec: LossSpec): OrtTensor {
    if (classes.length !== n) {
      throw new RobustestError('INVALID_LABELS', `The ${spec.name} loss holds one class per row of the batch.`, { expected: `${n} classes`, received: `${classes.length}` });
    }
    const rows = new Float32Array(n * this.classes);
    classes.forEach((c, i) => (rows[i * this.classes + c] = 1));
    return new this.ort.Tensor('float32', rows, [n, this.classes]);
  }
}

/** Per-sample loss and its logit gradient from tfjs: the closed form when the loss carries one. */
function lossHead(loss: LossFn, logits: tf.Tensor2D): { loss: tf.Tensor1D; dLogits: Float32Array } {
  const closedForm = logitGradientOf(loss);
  let perSample: tf.Tensor1D | undefined;
  const gradient = tf.tidy(() => {
    if (closedForm) {
      const head = closedForm(logits);
      perSample = tf.keep(head.loss);
      return head.gradient;
    }
    return tf.grad((z: tf.Tensor) => {
      perSample = tf.keep(loss(z as tf.Tensor2D));
      return tf.sum(perSample);
    })(logits);
  });
  const dLogits = gradient.dataSync() as Float32Array;
  gradient.dispose();
  return { loss: perSample!, dLogits: Float32Array.from(dLogits) };
}

/**
 * A tensor of its own holding `values`, which go back to the pool: the wasm backend copies values
 * into its heap, other backends may keep the array they are given.
 */
function ownedTensor(values: Float32Array, shape: readonly number[]): tf.Tensor {
  return tf.tensor(tf.getBackend() === 'wasm' ? values : values.slice(), [...shape], 'float32');
}

function weightIdentity(w: Weight): [tf.Tensor, object] {
  const t = w.tensor();
  return [t, (t as unknown as { dataId: object }).dataId];
}

function weightsOf(graph: ModelGraph): Weight[] {
  const out: Weight[] = [];
  for (const { op } of graph.nodes) {
    switch (op.kind) {
      case 'constant':
        out.push(op.value);
        break;
      case 'conv2d':
      case 'depthwiseConv2d':
        out.push(op.filter, ...(op.bias ? [op.bias] : []));
        break;
      case 'dense':
        out.push(op.kernel, ...(op.bias ? [op.bias] : []));
        break;
      case 'batchNorm':
        out.push(op.mean, op.variance, ...[op.gamma, op.beta].filter((w): w is Weight => w !== null));
        break;
      default:
        break;
    }
  }
  return out;
}
