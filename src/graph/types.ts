/**
 * The model graph: what every part of robustest reads a model from. Importers (tfjs layers,
 * tfjs GraphModels, ONNX) produce it; the executors (src/engine/) run it forward and backward;
 * bound propagation (src/certify/) relaxes it; the onnxruntime executor writes it back out.
 *
 * Conventions, the same for every importer:
 * - Values live in numbered slots. Every slot has a per-sample shape (no batch dimension); the
 *   batch dimension is always first and never named in a node.
 * - Images are channels-last (NHWC), whatever the source format: an NCHW importer transposes
 *   weights and remaps axes, and inserts an explicit `transpose` only where the source really
 *   depends on the memory order (a flatten of an image, a reshape across channels).
 * - Axes in node attributes are per-sample axes of the input: 0 is the first axis after the batch.
 * - Nodes are in topological order; a node only reads slots written before it.
 * - Weights are read through `Weight.tensor()`, which returns a tensor the graph (or the model it
 *   was imported from) owns: callers never dispose it. For tfjs-layers models it is the live
 *   variable, so training the model changes what the graph computes.
 */
import type * as tf from '@tensorflow/tfjs-core';

export interface Weight {
  /** Full shape of the weight. */
  readonly shape: readonly number[];
  /** The current value; owned by the graph or the model, never disposed by the caller. */
  tensor(): tf.Tensor;
}

/** Zero padding of the two spatial axes: [top, bottom, left, right]. */
export type Pads = readonly [number, number, number, number];

/** 'same' is TensorFlow's SAME (the extra row or column at the bottom/right); explicit otherwise. */
export type Padding = 'valid' | 'same' | Pads;

export type Activation =
  | { readonly fn: 'relu' }
  /** max(x, alpha·x) for 0 ≤ alpha ≤ 1 (PReLU with one slope as well). */
  | { readonly fn: 'leakyRelu'; readonly alpha: number }
  /** min(max(x, min), max): relu6 is clip(0, 6); ONNX Clip. */
  | { readonly fn: 'clip'; readonly min: number; readonly max: number }
  | { readonly fn: 'sigmoid' }
  | { readonly fn: 'tanh' }
  /** x for x > 0, alpha·(eˣ − 1) otherwise. */
  | { readonly fn: 'elu'; readonly alpha: number }
  /** max(0, min(1, alpha·x + beta)); ONNX defaults alpha 0.2, beta 0.5. */
  | { readonly fn: 'hardSigmoid'; readonly alpha: number; readonly beta: number }
  /** x · hardSigmoid(x) with alpha 1/6, beta 1/2. */
  | { readonly fn: 'hardSwish' }
  /** x · sigmoid(x). */
  | { readonly fn: 'swish' }
  /** x · Φ(x), exact (erf) or the tanh approximation. */
  | { readonly fn: 'gelu'; readonly approximate: boolean }
  | { readonly fn: 'softplus' }
  | { readonly fn: 'exp' }
  | { readonly fn: 'abs' }
  | { readonly fn: 'neg' }
  | { readonly fn: 'sqrt' }
  | { readonly fn: 'reciprocal' }
  /**
   * An elementwise function known only by its tfjs implementation (a custom tfjs-layers
   * activation). The tfjs executor differentiates it with tf.grad; bound propagation and the
   * onnxruntime executor refuse it.
   */
  | { readonly fn: 'opaque'; readonly name: string; apply(x: tf.Tensor): tf.Tensor };

/** Elementwise arithmetic of two slots with numpy broadcasting (per-sample shapes). */
export type BinaryFn = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min';

export type Op =
  /** [N, ...s] slots from nothing: a constant, broadcast over the batch. */
  | { readonly kind: 'constant'; readonly value: Weight }
  /** filter [kh, kw, in, out]; y = conv(x) + bias. */
  | {
      readonly kind: 'conv2d';
      readonly filter: Weight;
      readonly bias: Weight | null;
      readonly strides: readonly [number, number];
      readonly dilations: readonly [number, number];
      readonly padding: Padding;
    }
  /** filter [kh, kw, in, multiplier]; output channel c·multiplier + m. */
  | {
      readonly kind: 'depthwiseConv2d';
      readonly filter: Weight;
      readonly bias: Weight | null;
      readonly strides: readonly [number, number];
      readonly dilations: readonly [number, number];
      readonly padding: Padding;
    }
  /** kernel [in, out] over the last axis; y = x·kernel + bias. */
  | { readonly kind: 'dense'; readonly kernel: Weight; readonly bias: Weight | null }
  /** Inference batch norm over the last axis: (x − mean)/√(variance + epsilon)·gamma + beta. */
  | {
      readonly kind: 'batchNorm';
      readonly mean: Weight;
      readonly variance: Weight;
      readonly gamma: Weight | null;
      readonly beta: Weight | null;
      readonly epsilon: number;
    }
  | { readonly kind: 'activation'; readonly activation: Activation }
  /** Softmax over the last axis. */
  | { readonly kind: 'softmax' }
  /** Max pooling over the spatial axes; padded positions never win. */
  | { readonly kind: 'maxPool'; readonly size: readonly [number, number]; readonly strides: readonly [number, number]; readonly padding: Padding }
  /**
   * Average pooling over the spatial axes. With explicit pads, `countPadding` says whether padded
   * zeros count in the divisor (ONNX count_include_pad); 'same' never counts them (TensorFlow).
   */
  | {
      readonly kind: 'avgPool';
      readonly size: readonly [number, number];
      readonly strides: readonly [number, number];
      readonly padding: Padding;
      readonly countPadding: boolean;
    }
  /** Mean over per-sample axes (global average pooling is axes [0, 1] of an image). */
  | { readonly kind: 'mean'; readonly axes: readonly number[]; readonly keepDims: boolean }
  | { readonly kind: 'binary'; readonly fn: BinaryFn }
  /** Concatenation along a per-sample axis. */
  | { readonly kind: 'concat'; readonly axis: number }
  /** Constant padding; one [before, after] pair per per-sample axis. */
  | { readonly kind: 'pad'; readonly pads: readonly (readonly [number, number])[]; readonly value: number }
  /** Row-major reshape to a fully known per-sample shape. */
  | { readonly kind: 'reshape'; readonly shape: readonly number[] }
  /** Permutation of per-sample axes. */
  | { readonly kind: 'transpose'; readonly perm: readonly number[] }
  /** begin and size per per-sample axis (size −1: to the end). */
  | { readonly kind: 'slice'; readonly begin: readonly number[]; readonly size: readonly number[] }
  /**
   * A computation known only by its tfjs implementation (a tfjs-layers layer without a rule).
   * The tfjs executor runs it and differentiates it with tf.grad; nothing else can.
   */
  | { readonly kind: 'opaque'; readonly name: string; apply(inputs: readonly tf.Tensor[]): tf.Tensor };

export type OpKind = Op['kind'];

export interface Node {
  readonly op: Op;
  readonly inputs: readonly number[];
  readonly output: number;
  /** Where it came from (layer or node name, op type), for messages. */
  readonly source: string;
}

export interface ModelGraph {
  readonly format: 'tfjs-layers' | 'tfjs-graph' | 'onnx';
  readonly nodes: readonly Node[];
  readonly input: number;
  readonly output: number;
  /** Per-sample shape of every slot. */
  readonly shapes: readonly (readonly number[])[];
  /**
   * True when the source model ended in a softmax that the importer left out: `output` holds the
   * logits before it (attacks need logits; bounds on them order the classes the same way).
   */
  readonly peeledSoftmax: boolean;
  /** Frees the tensors the graph owns (weights it converted); the source model's stay. */
  dispose(): void;
}

/** A model the graph cannot represent: names the node and what would be needed. */
export class UnsupportedNode extends Error {
  constructor(
    readonly source: string,
    readonly why: string,
  ) {
    super(`${source}: ${why}`);
  }
}
