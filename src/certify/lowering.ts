/**
 * Lowers a model graph (src/graph/) into a BoundGraph: every node with a sound linear relaxation
 * becomes one or more bound nodes, with its weights read once into float64. Values that depend on
 * no input (constant nodes and whatever is computed from constants alone) are folded: a binary
 * add, sub, mul or div with a constant side becomes an affine node. max and min become relus
 * (max(x, y) = y + relu(x − y)), clips other than [0, m] and hardSigmoid are shifted onto a
 * clipped relu. Anything else is an UNSUPPORTED_LAYER error naming the node's source: a bound
 * that ignored a node would not be sound.
 */
import { RobustestError } from '../errors.js';
import type { Activation, ModelGraph, Node, Weight } from '../graph/types.js';
import type { BoundGraph, BoundNode } from './graph.js';
import { ClippedReluBound, ConvexBound, HardSwishBound, LeakyReluBound, SShapedBound } from './ops/activation.js';
import type { BoundOp, Vec } from './ops/bound-op.js';
import { Conv2DBound, DepthwiseConv2DBound } from './ops/convolution.js';
import { DenseBound } from './ops/dense.js';
import { BroadcastBound, ConcatenateBound, broadcastIndex, type Term } from './ops/merge.js';
import { BatchNormBound } from './ops/normalization.js';
import { AverageBound, MaxPoolBound } from './ops/pooling.js';
import { ConstantBound, GatherBound, ReshapeBound } from './ops/shape.js';

const SUPPORTED =
  'conv2d, depthwiseConv2d, dense, batchNorm, maxPool, avgPool, mean, add/sub of any two values, mul/div/max/min by a constant (max/min also of two values), concat, pad, reshape, transpose, slice; activations relu, leakyRelu, clip, sigmoid, tanh, hardSigmoid, hardSwish, elu (alpha ≤ 1), softplus, exp, abs, neg; softmax only last';

export function unsupportedNode(source: string, why: string): RobustestError {
  return new RobustestError('UNSUPPORTED_LAYER', `'${source}' cannot be bounded: ${why}.`, { expected: SUPPORTED, received: `${source}: ${why}` });
}

function values(w: Weight): Float64Array {
  return Float64Array.from(w.tensor().dataSync() as Float32Array);
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const pair4 = (shape: readonly number[]) => shape as unknown as readonly [number, number, number, number];

/** Builds the bound nodes of one graph, slot by slot. */
class Lowering {
  readonly nodes: BoundNode[] = [];
  readonly shapes: number[][];
  /** Values of slots that depend on no input. */
  private readonly constants = new Map<number, Vec>();
  /** Constant slots that some bound node reads (materialised as ConstantBound nodes). */
  private readonly materialised = new Set<number>();

  constructor(private readonly graph: ModelGraph) {
    this.shapes = graph.shapes.map((s) => [...s]);
  }

  private slot(shape: readonly number[]): number {
    this.shapes.push([...shape]);
    return this.shapes.length - 1;
  }

  /** Appends `op` reading `inputs`; writes `output` (a new slot when absent). */
  private emit(op: BoundOp, inputs: readonly number[], output?: number): number {
    for (const s of inputs) this.materialise(s);
    const out = output ?? this.slot(op.outputShape);
    this.shapes[out] = [...op.outputShape];
    this.nodes.push({ op, inputs: [...inputs], output: out });
    return out;
  }

  private materialise(slot: number): void {
    const value = this.constants.get(slot);
    if (!value || this.materialised.has(slot)) return;
    this.materialised.add(slot);
    this.nodes.push({ op: new ConstantBound('constant', this.shapes[slot]!, value), inputs: [], output: slot });
  }

  lower(): BoundGraph {
    for (const node of this.graph.nodes) this.node(node);
    if (this.constants.has(this.graph.output)) throw unsupportedNode('output', 'the output does not depend on the input');
    return { nodes: this.nodes, input: this.graph.input, output: this.graph.output, shapes: this.shapes, peeledSoftmax: this.graph.peeledSoftmax };
  }

  private node(node: Node): void {
    const { op } = node;
    if (op.kind === 'constant') {
      this.constants.set(node.output, values(op.value));
      return;
    }
    const variable = node.inputs.filter((s) => !this.constants.has(s));
    if (variable.length === 0) {
      this.constants.set(node.output, this.fold(node));
      return;
    }
    this.lowerNode(node, node.output);
  }

  /** A node whose inputs are all constants, lowered on its own and evaluated once in float64. */
  private fold(node: Node): Vec {
    const scratch = new Lowering(this.graph);
    for (const s of node.inputs) scratch.constants.set(s, this.constants.get(s)!);
    scratch.lowerNode(node, node.output);
    const vals: Vec[] = [];
    for (const n of scratch.nodes) {
      const out = new Float64Array(size(n.op.outputShape));
      const xs = n.inputs.map((s) => vals[s]!);
      if (n.op.affine) {
        n.op.linear(xs, out, false);
        if (n.op.bias) for (let i = 0; i < out.length; i++) out[i]! += n.op.bias[i]!;
      } else n.op.evaluate(xs[0]!, out);
      vals[n.output] = out;
    }
    return vals[node.output]!;
  }

  /** The bound nodes of one graph node; returns the slot holding its value (`output`). */
  private lowerNode(node: Node, output: number): number {
    const { op, source } = node;
    const shapeOf = (s: number) => this.shapes[s]!;
    const x = node.inputs[0]!;
    const inShape = shapeOf(x);
    const outShape = this.graph.shapes[node.output]!;
    const bias = (w: Weight | null) => (w ? values(w) : null);
    switch (op.kind) {
      case 'conv2d':
        return this.emit(new Conv2DBound(source, inShape, values(op.filter), pair4(op.filter.shape), bias(op.bias), op.strides, op.dilations, op.padding), [x], output);
      case 'depthwiseConv2d':
        return this.emit(new DepthwiseConv2DBound(source, inShape, values(op.filter), pair4(op.filter.shape), bias(op.bias), op.strides, op.dilations, op.padding), [x], output);
      case 'dense':
        return this.emit(new DenseBound(source, inShape, values(op.kernel), op.kernel.shape as [number, number], bias(op.bias)), [x], output);
      case 'batchNorm':
        return this.emit(
          new BatchNormBound(source, inShape, { mean: values(op.mean), variance: values(op.variance), gamma: bias(op.gamma), beta: bias(op.beta), epsilon: op.epsilon }),
          [x],
          output,
        );
      case 'maxPool':
        return this.emit(new MaxPoolBound(source, inShape, { size: op.size, strides: op.strides, padding: op.padding }), [x], output);
      case 'avgPool':
        return this.emit(AverageBound.pool(source, inShape, { size: op.size, strides: op.strides, padding: op.padding }, op.countPadding), [x], output);
      case 'mean':
        return this.emit(AverageBound.mean(source, inShape, op.axes, outShape), [x], output);
      case 'concat':
        return this.emit(new ConcatenateBound(source, node.inputs.map(shapeOf), op.axis < 0 ? op.axis + inShape.length : op.axis), node.inputs, output);
      case 'pad':
        return this.emit(GatherBound.pad(source, inShape, op.pads, op.value), [x], output);
      case 'reshape':
        return this.emit(new ReshapeBound(source, op.shape), [x], output);
      case 'transpose':
        return this.emit(GatherBound.transpose(source, inShape, op.perm), [x], output);
      case 'slice':
        return this.emit(GatherBound.slice(source, inShape, op.begin, op.size), [x], output);
      case 'binary':
        return this.binary(node, output);
      case 'activation':
        return this.activation(op.activation, source, x, inShape, output);
      case 'softmax':
        throw unsupportedNode(source, 'softmax is only allowed as the last operation');
      case 'constant':
      case 'opaque':
        throw unsupportedNode(source, op.kind === 'opaque' ? `${op.name} has no bound propagation rule` : 'a constant');
    }
  }

  /** Scale and shift of one slot, broadcast to `outShape`: scale·x + shift. */
  private affine(kind: string, source: string, x: number, outShape: readonly number[], scale: number | Vec, shift: Vec | null, output?: number): number {
    return this.emit(new BroadcastBound(kind, source, outShape, [{ shape: this.shapes[x]!, scale }], shift), [x], output);
  }

  private binary(node: Node, output: number): number {
    const op = node.op as { kind: 'binary'; fn: string };
    const { source } = node;
    const [a, b] = node.inputs as [number, number];
    const outShape = this.graph.shapes[node.output]!;
    const n = size(outShape);
    const ca = this.constants.get(a);
    const cb = this.constants.get(b);
    /** A constant broadcast to the output shape. */
    const spread = (slot: number, v: Vec): Vec => {
      if (v.length === n) return Float64Array.from(v);
      const map = broadcastIndex(this.shapes[slot]!, outShape);
      return Float64Array.from(map, (i) => v[i]!);
    };
    const terms = (sa: number, sb: number): Term[] => [
      { shape: this.shapes[a]!, scale: sa },
      { shape: this.shapes[b]!, scale: sb },
    ];
    switch (op.fn) {
      case 'add':
      case 'sub': {
        const sign = op.fn === 'add' ? 1 : -1;
        if (cb) return this.affine(op.fn, source, a, outShape, 1, spread(b, cb).map((v) => sign * v), output);
        if (ca) return this.affine(op.fn, source, b, outShape, sign, spread(a, ca), output);
        return this.emit(new BroadcastBound(op.fn, source, outShape, terms(1, sign), null), [a, b], output);
      }
      case 'mul':
        if (cb) return this.affine('mul', source, a, outShape, spread(b, cb), null, output);
        if (ca) return this.affine('mul', source, b, outShape, spread(a, ca), null, output);
        throw unsupportedNode(source, 'a product of two values that both depend on the input');
      case 'div':
        if (cb) return this.affine('div', source, a, outShape, spread(b, cb).map((v) => 1 / v), null, output);
        throw unsupportedNode(source, 'a division by a value that depends on the input');
      case 'max':
      case 'min': {
        // max(a, b) = b + relu(a − b); min(a, b) = a − relu(a − b).
        const difference = ca || cb ? this.affine('sub', source, ca ? b : a, outShape, ca ? -1 : 1, spread(ca ? a : b, (ca ?? cb)!).map((v) => (ca ? v : -v))) : this.emit(new BroadcastBound('sub', source, outShape, terms(1, -1), null), [a, b]);
        const relu = this.emit(new LeakyReluBound(source, outShape, 0), [difference]);
        const base = op.fn === 'max' ? b : a;
        const sign = op.fn === 'max' ? 1 : -1;
        const constant = this.constants.get(base);
        if (constant) return this.affine(op.fn, source, relu, outShape, sign, spread(base, constant), output);
        return this.emit(new BroadcastBound(op.fn, source, outShape, [{ shape: outShape, scale: sign }, { shape: this.shapes[base]!, scale: 1 }], null), [relu, base], output);
      }
      default:
        throw unsupportedNode(source, `binary ${op.fn}`);
    }
  }

  private activation(a: Activation, source: string, x: number, shape: readonly number[], output: number): number {
    switch (a.fn) {
      case 'relu':
        return this.emit(new LeakyReluBound(source, shape, 0), [x], output);
      case 'leakyRelu':
        return this.emit(new LeakyReluBound(source, shape, a.alpha), [x], output);
      case 'clip':
        return this.clip(source, x, shape, 1, 0, a.min, a.max, output);
      case 'hardSigmoid':
        return this.clip(source, x, shape, a.alpha, a.beta, 0, 1, output);
      case 'sigmoid':
      case 'tanh':
        return this.emit(new SShapedBound(a.fn, source, shape), [x], output);
      case 'elu':
        if (!(a.alpha >= 0 && a.alpha <= 1)) throw unsupportedNode(source, `elu with alpha ${a.alpha} is not convex (alpha must be in [0, 1])`);
        return this.emit(new ConvexBound('elu', source, shape, a.alpha), [x], output);
      case 'softplus':
      case 'exp':
      case 'abs':
        return this.emit(new ConvexBound(a.fn, source, shape), [x], output);
      case 'hardSwish':
        return this.emit(new HardSwishBound(source, shape), [x], output);
      case 'neg':
        return this.affine('neg', source, x, shape, -1, null, output);
      default:
        throw unsupportedNode(source, `activation ${a.fn === 'opaque' ? a.name : a.fn} has no linear relaxation here`);
    }
  }

  /**
   * clip(scale·x + shift, min, max) = min + clippedRelu(scale·x + shift − min) at max − min, so that
   * the relu's lower line goes through the origin, which α-CROWN's slopes assume.
   */
  private clip(source: string, x: number, shape: readonly number[], scale: number, shift: number, min: number, max: number, output: number): number {
    if (!(max > min)) throw unsupportedNode(source, `clip to [${min}, ${max}]`);
    const n = size(shape);
    const filled = (v: number) => new Float64Array(n).fill(v);
    if (min === -Infinity) {
      if (max === Infinity) return this.affine('scale', source, x, shape, scale, filled(shift), output);
      // min(y, max) = max − relu(max − y).
      const below = this.affine('scale', source, x, shape, -scale, filled(max - shift));
      return this.affine('shift', source, this.emit(new LeakyReluBound(source, shape, 0), [below]), shape, -1, filled(max), output);
    }
    const ceiling = max - min;
    const relu = (input: number, out?: number) =>
      this.emit(Number.isFinite(ceiling) ? new ClippedReluBound(`clip(0, ${ceiling})`, source, shape, ceiling) : new LeakyReluBound(source, shape, 0), [input], out);
    const inner = scale === 1 && shift === min ? x : this.affine('scale', source, x, shape, scale, filled(shift - min));
    if (min === 0) return relu(inner, output);
    return this.affine('shift', source, relu(inner), shape, 1, filled(min), output);
  }
}

/** The BoundGraph of a model graph; UNSUPPORTED_LAYER names the first node without a sound rule. */
export function lowerGraph(graph: ModelGraph): BoundGraph {
  return new Lowering(graph).lower();
}
