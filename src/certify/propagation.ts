/**
 * Bound propagation over a BoundGraph, in float64: interval bound propagation (IBP), CROWN's
 * backward linear bounds, and the per-row pieces α-CROWN optimises.
 *
 * Everything is phrased as lower bounds of linear functions c·z of one slot z: an upper bound of
 * z_j is −(lower bound of −z_j). One backward pass carries one row c from its slot to the input,
 * replacing each affine node by its transpose and each nonlinear node by the side of its
 * relaxation that keeps the bound sound for the sign of the coefficient it meets.
 */
import { BallThroughDense } from './ball-input.js';
import type { BoundGraph, BoundNode } from './graph.js';
import { Conv2DBound } from './ops/convolution.js';
import type { BallBounds } from './ops/conv-kernel.js';
import { DenseBound } from './ops/dense.js';
import { LeakyReluBound } from './ops/activation.js';
import { MaxPoolBound } from './ops/pooling.js';
import { fresh, type AffineOp, type Allocate, type ElementwiseRelaxation, type Interval, type PoolRelaxation, type Vec } from './ops/bound-op.js';
import { minimize, minimizeOn, type Region } from './region.js';
import { Scratch } from './scratch.js';
import { Support } from './support.js';

export type Relaxation = ElementwiseRelaxation | PoolRelaxation;

/** Bounds of every slot that has them, and the relaxation of every nonlinear node. */
export interface LinearBounds {
  readonly slots: (Interval | undefined)[];
  readonly relaxations: (Relaxation | undefined)[];
  /** IBP bounds of every slot, once computed. */
  ibp?: Interval[];
}

/** Lower slopes to use instead of a relaxation's own, per node index (α-CROWN). */
export type SlopeOverride = Map<number, Vec>;

/**
 * How intermediate bounds are tightened beyond one backward pass (α-CROWN on every layer):
 * `refine` returns a sound lower bound of c·slot given the relaxations so far, called only where
 * the backward pass leaves a neuron unstable; `tighten` holds earlier bounds of the same region
 * (CROWN's), which are intersected in.
 */
export interface Refinement {
  refine(slot: number, c: Vec, state: LinearBounds): number;
  tighten?: LinearBounds;
}

/** Rows carried back together: each weight is read once per block (see ops' transposeRows). */
const ROW_BLOCK = 16;

/** auto_LiRPA's `minimum_sparsity`: above this share of unstable neurons, every neuron of a relu's input is bounded. */
const SPARSE_SHARE = 0.9;

/** The share of neurons an interval leaves on both sides of 0. */
function unstableShare(b: Interval): number {
  let unstable = 0;
  for (let j = 0; j < b.lower.length; j++) if (b.lower[j]! < 0 && b.upper[j]! > 0) unstable++;
  return unstable / b.lower.length;
}

/** Writes row j of a block into `into` (zeros on entry). */
export type RowWriter = (j: number, into: Vec) => void;

function isPool(r: Relaxation): r is PoolRelaxation {
  return 'chosen' in r;
}

export class BoundPropagation {
  private readonly sizes: number[];
  private readonly producer: number[];
  private readonly buffers: Float64Array[];
  /** Per slot, ROW_BLOCK rows of coefficients end to end (allocated on first use). */
  private readonly blocks: (Float64Array | undefined)[] = [];
  /** Per slot, where the rows of the block in flight may be nonzero. */
  private readonly supports: (Support | undefined)[] = [];

  /** Slots that are an affine function of the input (no relaxation between). */
  private readonly affineInInput: boolean[];
  /** Slots whose interval image of the input box is exact: moves of the input, then at most one affine node. */
  private readonly intervalExact: boolean[];
  /** Affine-in-input slots a relaxation reads: under L2, IBP bounds them over the ball itself. */
  private readonly exactUnderL2: boolean[];
  /** The dense layer through which alone the input is read, if any: L2 rows are bounded there. */
  private readonly ballInput: BallThroughDense | null;
  /** Per node: the max pool node when it is a convolution whose relu a max pool reads (each alone), else −1. */
  private readonly reluPoolAfter: number[];


  constructor(readonly graph: BoundGraph) {
    this.sizes = graph.shapes.map((s) => s.reduce((a, b) => a * b, 1));
    this.producer = new Array<number>(graph.shapes.length).fill(-1);
    graph.nodes.forEach((n, i) => (this.producer[n.output] = i));
    this.buffers = this.sizes.map((n) => new Float64Array(n));
    const slots = graph.shapes.length;
    this.affineInInput = new Array<boolean>(slots).fill(false);
    this.intervalExact = new Array<boolean>(slots).fill(false);
    const moved = new Array<boolean>(slots).fill(false);
    this.affineInInput[graph.input] = this.intervalExact[graph.input] = moved[graph.input] = true;
    for (const n of graph.nodes) {
      if (!n.op.affine || n.inputs.length === 0) continue;
      this.affineInInput[n.output] = n.inputs.every((s) => this.affineInInput[s]);
      moved[n.output] = n.op.exactInterval === true && moved[n.inputs[0]!]!;
      this.intervalExact[n.output] = moved[n.output]! || (n.inputs.length === 1 && moved[n.inputs[0]!]!);
    }
    this.ballInput = BallThroughDense.find(graph);
    const readers = (slot: number) => graph.nodes.flatMap((n, k) => (n.inputs.includes(slot) ? [k] : []));
    this.reluPoolAfter = graph.nodes.map((n) => {
      if (!(n.op instanceof Conv2DBound) || n.inputs.length !== 1 || n.output === graph.output) return -1;
      const [relu, more] = readers(n.output);
      if (relu === undefined || more !== undefined || graph.nodes[relu]!.op.kind !== 'relu') return -1;
      const reluOut = graph.nodes[relu]!.output;
      const [pool, other] = readers(reluOut);
      if (pool === undefined || other !== undefined || reluOut === graph.output || !(graph.nodes[pool]!.op instanceof MaxPoolBound)) return -1;
      return pool;
    });

    this.exactUnderL2 = this.affineInInput.map((affine, slot) => affine && slot !== graph.input && graph.nodes.some((n) => !n.op.affine && n.inputs.includes(slot)));
  }

  get outputSize(): number {
    return this.sizes[this.graph.output]!;
  }

  /** The network's output at one point, in float64. */
  evaluate(x: ArrayLike<number>): Vec {
    const values: Vec[] = [];
    values[this.graph.input] = Float64Array.from(x);
    for (const node of this.graph.nodes) {
      const out = new Float64Array(this.sizes[node.output]!);
      const inputs = node.inputs.map((s) => values[s]!);
      if (node.op.affine) {
        node.op.linear(inputs, out, false);
        if (node.op.bias) for (let i = 0; i < out.length; i++) out[i]! += node.op.bias[i]!;
      } else node.op.evaluate(inputs[0]!, out);
      values[node.output] = out;
    }
    return values[this.graph.output]!;
  }

  /**
   * Interval bounds of every slot (IBP), from the region's box. Under L2 an affine function of the
   * input that a relaxation reads is bounded over the ball itself, neuron by neuron (as auto_LiRPA
   * does through the dual norm): the box around an L2 ball is much larger than the ball.
   */
  interval(r: Region): Interval[] {
    const slots: Interval[] = [];
    slots[this.graph.input] = { lower: r.lower, upper: r.upper };
    for (const node of this.graph.nodes) slots[node.output] = r.norm === 'l2' && this.exactUnderL2[node.output] ? this.overBall(node, slots, r) : this.intervalOf(node, slots);
    return slots;
  }

  /** Norms of the rows of affine-in-input slots: the same for every sample, found once. */
  private readonly rowNorms = new Map<number, Vec>();

  /**
   * An affine function of the input bounded over the L2 ball ∩ box. Where IBP is exact on the box
   * (one affine node after moves), each neuron's bound is the larger of the box's and the ball's
   * (centre ± ε·‖row‖₂), which is what a backward pass per neuron would give; otherwise a
   * backward pass per neuron.
   */
  private overBall(node: BoundNode, slots: (Interval | undefined)[], r: Region): Interval {
    if (!this.intervalExact[node.output]) return this.exactSlot(node.output, r);
    const box = this.intervalOf(node, slots);
    const centre = this.evaluateUpTo(node.output, r.center);
    const norms = this.rowNormsOf(node.output);
    for (let j = 0; j < centre.length; j++) {
      box.lower[j] = Math.max(box.lower[j]!, centre[j]! - r.epsilon * norms[j]!);
      box.upper[j] = Math.min(box.upper[j]!, centre[j]! + r.epsilon * norms[j]!);
    }
    return box;
  }

  /** The value of an affine-in-input slot at x. */
  private evaluateUpTo(slot: number, x: Vec): Vec {
    const values: Vec[] = [];
    values[this.graph.input] = x;
    for (const node of this.graph.nodes) {
      if (!this.affineInInput[node.output] || values[node.output]) continue;
      const out = new Float64Array(this.sizes[node.output]!);
      const op = node.op as AffineOp;
      op.linear(node.inputs.map((s) => values[s]!), out, false);
      if (op.bias) for (let i = 0; i < out.length; i++) out[i]! += op.bias[i]!;
      values[node.output] = out;
      if (node.output === slot) break;
    }
    return values[slot]!;
  }

  private rowNormsOf(slot: number): Vec {
    let norms = this.rowNorms.get(slot);
    if (norms) return norms;
    const none: LinearBounds = { slots: [], relaxations: [] };
    norms = this.backwardRows(slot, this.sizes[slot]!, unitRow, none, (_, a, support) => {
      let sum = 0;
      for (let t = 0; t < support.count; t++) sum += a[support.at(t)]! ** 2;
      return Math.sqrt(sum);
    }, (j) => j);
    this.rowNorms.set(slot, norms);
    return norms;
  }

  /** Each neuron of an affine function of the input, bounded exactly over the region by one backward pass. */
  private exactSlot(slot: number, r: Region): Interval {
    const n = this.sizes[slot]!;
    const none: LinearBounds = { slots: [], relaxations: [] };
    const found = this.lowerBounds(slot, 2 * n, signedUnitRow, r, none, (k) => k >> 1);
    const lower = new Float64Array(n);
    const upper = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      lower[j] = found[2 * j]!;
      upper[j] = -found[2 * j + 1]!;
    }
    return { lower, upper };
  }

  private intervalOf(node: BoundNode, slots: (Interval | undefined)[]): Interval {
    return this.intervalOfInputs(node, node.inputs.map((s) => slots[s]!));
  }

  private intervalOfInputs(node: BoundNode, inputs: readonly Interval[]): Interval {
    if (!node.op.affine) return node.op.interval(inputs[0]!);
    const n = this.sizes[node.output]!;
    const mids = inputs.map((b) => centre(b));
    const radii = inputs.map((b) => halfWidth(b));
    const mid = new Float64Array(n);
    const radius = new Float64Array(n);
    node.op.linear(mids, mid, false);
    node.op.linear(radii, radius, true);
    const bias = node.op.bias;
    const lower = new Float64Array(n);
    const upper = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const m = mid[i]! + (bias ? bias[i]! : 0);
      lower[i] = m - radius[i]!;
      upper[i] = m + radius[i]!;
    }
    return { lower, upper };
  }

  /**
   * IBP of several regions at once: every slot holds the samples' bounds end to end. Ops with a
   * batched path (dense, conv2d) read their weights once per block of samples. Under L2 an affine
   * function of the input that a relaxation reads is bounded over each ball as interval() does,
   * its centres and boxes computed for all regions together. `allocate`: where the slots' arrays
   * come from (the scratch when the caller drops them before the next call). `fuse`: only the
   * last layer's inputs are read afterwards, so a convolution followed by a relu and a max pool
   * (each the only reader of the one before) is bounded in one kernel call, the bounds of the two
   * in between left out. `stage`: where arrays read only during the call come from.
   */
  intervalBatch(rs: readonly Region[], allocate: Allocate = fresh, fuse = false, stage: Allocate = allocate): Interval[] {
    const batch = rs.length;
    const slots: Interval[] = [];
    const n0 = this.sizes[this.graph.input]!;
    const lower = stage(batch * n0);
    const upper = stage(batch * n0);
    rs.forEach((r, b) => {
      lower.set(r.lower, b * n0);
      upper.set(r.upper, b * n0);
    });
    slots[this.graph.input] = { lower, upper };
    const l2 = rs[0]?.norm === 'l2';
    let centres: Vec[] | undefined;
    /** The relu and pool nodes whose bounds a fused kernel call already gave. */
    const covered = new Set<number>();
    for (const [i, node] of this.graph.nodes.entries()) {
      const op = node.op;
      const exact = l2 && this.exactUnderL2[node.output];
      if (covered.has(i)) continue;
      // conv → relu → max pool in one kernel call, when only the pool's bounds are wanted (under
      // L2, a first convolution's outputs are bounded over the balls inside the call).
      const pool = fuse && (!exact || this.intervalExact[node.output]) ? this.reluPoolAfter[i]! : -1;
      if (pool >= 0) {
        const poolNode = this.graph.nodes[pool]!;
        const ball = exact ? this.ballsAt(rs, node.inputs[0]!, node.output, stage) : undefined;
        const found = ball === null ? null : (op as Conv2DBound).intervalReluPool(slots[node.inputs[0]!]!, poolNode.op as MaxPoolBound, batch, allocate, ball);
        if (found) {
          slots[poolNode.output] = found;
          covered.add(pool);
          covered.add(this.producer[poolNode.inputs[0]!]!);
          continue;
        }
      }
      if (exact && !this.intervalExact[node.output]) {
        slots[node.output] = this.joined(rs.map((r) => this.exactSlot(node.output, r)), allocate);
        continue;
      }
      // The first input's bounds (a node of constants alone has none).
      const input = slots[node.inputs[0]!] as Interval | undefined;
      // A dense layer reading the input (reshaped): its box and ball bounds in one pass.
      if (exact && this.intervalExact[node.output] && op instanceof DenseBound && node.inputs.length === 1 && this.inputLayout(node.inputs[0]!)) {
        const n0 = this.sizes[this.graph.input]!;
        const centresIn = stage(batch * n0);
        rs.forEach((r, b) => centresIn.set(r.center, b * n0));
        const overBalls = op.intervalBatchOverBalls(input!, centresIn, rs.map((r) => r.epsilon), this.rowNormsOf(node.output), batch, allocate);
        if (overBalls) {
          slots[node.output] = overBalls;
          continue;
        }
      }
      const found = op.affine
        ? op.intervalBatch && node.inputs.length === 1
          ? op.intervalBatch(input!, batch, allocate)
          : this.joined(rs.map((_, b) => this.intervalOfInputs(node, node.inputs.map((s) => this.view(slots[s]!, s, b)))), allocate)
        : op.elementwise
          ? op.interval(input!, allocate)
          : op.intervalBatch
            ? op.intervalBatch(input!, batch, allocate)
            : this.joined(rs.map((_, b) => this.intervalOfInputs(node, [this.view(input!, node.inputs[0]!, b)])), allocate);
      // Narrowed below: a copy when the op handed back its input's own arrays.
      const shared = found.lower === input?.lower;
      const box = exact && shared ? { lower: copy(found.lower, allocate), upper: copy(found.upper, allocate) } : found;
      if (exact) {
        centres ??= this.centresBatch(rs, stage);
        const n = this.sizes[node.output]!;
        const centre = centres[node.output]!;
        const norms = this.rowNormsOf(node.output);
        const { lower: l, upper: u } = box;
        for (let b = 0; b < batch; b++) {
          const epsilon = rs[b]!.epsilon;
          for (let j = 0; j < n; j++) {
            const o = b * n + j;
            const reach = epsilon * norms[j]!;
            const below = centre[o]! - reach;
            const above = centre[o]! + reach;
            if (below > l[o]!) l[o] = below;
            if (above < u[o]!) u[o] = above;
          }
        }
      }
      slots[node.output] = box;
    }
    return slots;
  }

  /**
   * What a fused kernel needs to bound `slot` (an affine function of the input, read from
   * `source` by moves of the input only) over each region's L2 ball: the balls' centres laid out
   * as `source`, their radii, and the slot's row norms. Null when `source` is not the input itself.
   */
  private ballsAt(rs: readonly Region[], source: number, slot: number, allocate: Allocate): BallBounds | null {
    if (source !== this.graph.input) return null;
    const n = this.sizes[source]!;
    const centres = allocate(rs.length * n);
    rs.forEach((r, b) => centres.set(r.center, b * n));
    return { centres, epsilons: Float64Array.from(rs, (r) => r.epsilon), norms: this.rowNormsOf(slot) };
  }

  /** Whether a slot holds the input's values in the input's own order (the input, or reshapes of it). */
  private inputLayout(slot: number): boolean {
    if (slot === this.graph.input) return true;
    const node = this.graph.nodes[this.producer[slot]!];
    return node !== undefined && node.op.kind === 'reshape' && node.inputs.length === 1 && this.inputLayout(node.inputs[0]!);
  }

  /** Region b's part of a batched slot. */
  private view(box: Interval, slot: number, b: number): Interval {
    const n = this.sizes[slot]!;
    return { lower: box.lower.subarray(b * n, (b + 1) * n), upper: box.upper.subarray(b * n, (b + 1) * n) };
  }

  private joined(parts: readonly Interval[], allocate: Allocate): Interval {
    const n = parts[0]?.lower.length ?? 0;
    const out = { lower: allocate(parts.length * n), upper: allocate(parts.length * n) };
    parts.forEach((p, b) => {
      out.lower.set(p.lower, b * n);
      out.upper.set(p.upper, b * n);
    });
    return out;
  }

  /** The value of every affine-in-input slot at each region's centre (end to end). */
  private centresBatch(rs: readonly Region[], allocate: Allocate): Vec[] {
    const batch = rs.length;
    const values: Vec[] = [];
    const n0 = this.sizes[this.graph.input]!;
    const x = allocate(batch * n0);
    rs.forEach((r, b) => x.set(r.center, b * n0));
    values[this.graph.input] = x;
    for (const node of this.graph.nodes) {
      if (!this.affineInInput[node.output]) continue;
      const op = node.op as AffineOp;
      if (op.linearBatch && node.inputs.length === 1) {
        values[node.output] = op.linearBatch(values[node.inputs[0]!]!, batch, allocate);
        continue;
      }
      const n = this.sizes[node.output]!;
      const out = allocate(batch * n).fill(0);
      for (let b = 0; b < batch; b++) {
        const one = out.subarray(b * n, (b + 1) * n);
        op.linear(node.inputs.map((s) => values[s]!.subarray(b * this.sizes[s]!, (b + 1) * this.sizes[s]!)), one, false);
        if (op.bias) for (let i = 0; i < n; i++) one[i]! += op.bias[i]!;
      }
      values[node.output] = out;
    }
    return values;
  }

  /**
   * intervalBatch(), split into each region's own slots. With fresh arrays the inputs' batch (and
   * the balls' centres) are staged in arrays reused from call to call, and the slots that are the
   * input itself (it, and reshapes of it) are each region's own box: large fresh arrays cost more
   * to allocate than IBP of an MLP does to compute.
   */
  intervalViews(rs: readonly Region[], allocate: Allocate = fresh, fuse = false): Interval[][] {
    const staged = allocate === fresh;
    if (staged) this.stage.reset();
    const slots = this.intervalBatch(rs, allocate, fuse, staged ? this.stage.take : allocate);
    const input = slots[this.graph.input]!.lower;
    return rs.map((r, b) => slots.map((box, slot) => box && (staged && box.lower === input ? { lower: r.lower, upper: r.upper } : this.view(box, slot, b))));
  }

  /** intervalViews()' staging arrays. */
  private readonly stage = new Scratch();

  /** IBP's arrays for calls that read them and drop them before returning. */
  private readonly scratch = new Scratch();

  /**
   * intervalRows for several regions at once (rows per region), from one batched IBP whose slots
   * live in the scratch: nothing of them outlives the call.
   */
  intervalRowsBatch(rs: readonly Region[], rows: readonly (readonly Vec[])[]): number[][] {
    this.scratch.reset();
    return this.intervalViews(rs, this.scratch.take, true).map((slots, b) => this.intervalRowsFrom(rs[b]!, rows[b]!, slots));
  }

  /**
   * Lower bounds of c·(output) for each row c, with the last layer's interval bounds computed
   * on c·W directly (the specification folded into the last layer, as auto_LiRPA does).
   */
  intervalRows(r: Region, rows: readonly Vec[]): number[] {
    return this.intervalRowsFrom(r, rows, this.interval(r));
  }

  /** intervalRows() from the region's IBP bounds computed already. */
  intervalRowsFrom(r: Region, rows: readonly Vec[], slots: readonly (Interval | undefined)[]): number[] {
    const last = this.graph.nodes[this.producer[this.graph.output]!];
    if (!last || !last.op.affine) return rows.map((c) => intervalDot(c, slots[this.graph.output]!));
    const op = last.op;
    // A linear model is bounded over the region exactly.
    if (this.affineInInput[this.graph.output]) return rows.map((c) => this.lowerBound(this.graph.output, c, r, { slots: [], relaxations: [] }));
    if (op instanceof DenseBound && op.positions === 1) return op.rowLowerBounds(rows, slots[last.inputs[0]!]!);
    // c·W in the first row of the backward blocks, which are zero between passes and left so.
    const into = last.inputs.map((s) => this.block(s).subarray(0, this.sizes[s]!));
    const found = rows.map((c) => {
      op.transpose(c, into);
      let bound = op.bias ? dot(c, op.bias) : 0;
      last.inputs.forEach((s, k) => (bound += intervalDot(into[k]!, slots[s]!)));
      for (const v of into) v.fill(0);
      return bound;
    });
    return found;
  }

  /**
   * CROWN: bounds of every slot a nonlinear node reads, each from a backward pass over the nodes
   * before it. Outputs of elementwise activations and of ops that only move values (reshape,
   * transpose, slice, pad) get the interval image of their input's bounds, as auto_LiRPA does.
   * `ibp`: the region's IBP bounds when already computed (intervalViews of many regions at once).
   */
  linearBounds(r: Region, checkpoint?: () => void, refinement?: Refinement, ibp?: Interval[]): LinearBounds {
    const slots: (Interval | undefined)[] = [];
    const relaxations: (Relaxation | undefined)[] = [];
    slots[this.graph.input] = { lower: r.lower, upper: r.upper };
    const state: LinearBounds = { slots, relaxations, ibp };
    let intervals: Interval[] | undefined;
    this.graph.nodes.forEach((node, i) => {
      if (node.op.affine) return;
      checkpoint?.();
      const source = node.inputs[0]!;
      // auto_LiRPA's sparse intermediate bounds, for one sample: a relu's input gets IBP bounds
      // first; the neurons they leave unstable get linear bounds of their own, the others keep
      // IBP's, unless more than SPARSE_SHARE of the layer is unstable: then every neuron gets
      // linear bounds. Other piecewise-linear activations keep IBP bounds where they show the
      // neuron stable (its relaxation is then exact whatever the bounds), unless their output's
      // bounds feed another relaxation.
      const relu = node.op instanceof LeakyReluBound;
      const sparse = relu || (node.op.elementwise && node.op.piecewiseLinear === true && !this.feedsRelaxation(node.output));
      const reference = sparse ? this.reference(source, r, state) : undefined;
      slots[source] ??= this.boundSlot(source, r, state, reference, !relu || unstableShare(reference!) <= SPARSE_SHARE, refinement);
      relaxations[i] = node.op.relax(slots[source]!);
    });
    return state;
  }

  /**
   * A slot's interval image of the bounds found so far, as auto_LiRPA's reference bounds: IBP
   * that starts from the slots CROWN has already bounded (a relu's output, a max pool's input)
   * rather than from the input alone. The slots it passes through are not kept.
   */
  reference(slot: number, r: Region, state: LinearBounds): Interval {
    const ibp = (state.ibp ??= this.interval(r));
    const passed: (Interval | undefined)[] = [];
    const walk = (s: number): Interval => {
      const known = state.slots[s] ?? passed[s];
      if (known) return known;
      if (this.affineInInput[s]) return ibp[s]!;
      const node = this.graph.nodes[this.producer[s]!]!;
      return (passed[s] = this.intervalOfInputs(node, node.inputs.map(walk)));
    };
    return walk(slot);
  }

  /** Whether a nonlinear node reads this slot, directly or through ops that only move values. */
  private feedsRelaxation(slot: number): boolean {
    return this.graph.nodes.some((n) => n.inputs.includes(slot) && (!n.op.affine || (n.op.exactInterval === true && this.feedsRelaxation(n.output))));
  }

  /**
   * Bounds of a slot. With `reference` (its reference bounds, when a relu or another
   * piecewise-linear activation reads it) and `keepStable`, neurons the reference shows on one
   * side of 0 keep them; otherwise every neuron gets a backward pass.
   */
  private boundSlot(slot: number, r: Region, state: LinearBounds, reference?: Interval, keepStable = false, refinement?: Refinement): Interval {
    const p = this.producer[slot]!;
    const node = this.graph.nodes[p]!;
    const passThrough = !node.op.affine ? node.op.elementwise : node.op.exactInterval === true;
    if (passThrough) {
      const source = node.inputs[0]!;
      state.slots[source] ??= this.boundSlot(source, r, state, undefined, false, refinement);
      return this.intervalOf(node, state.slots);
    }
    // An affine function of the input whose IBP bounds are exact (L∞: moves of the input and one
    // affine node; L2: computed over the ball) needs no backward pass of its own.
    if (this.affineInInput[slot] && (r.norm === 'linf' ? this.intervalExact[slot] : this.exactUnderL2[slot])) return (state.ibp ??= this.interval(r))[slot]!;
    const n = this.sizes[slot]!;
    const lower = reference ? reference.lower.slice() : new Float64Array(n);
    const upper = reference ? reference.upper.slice() : new Float64Array(n);
    const open: number[] = [];
    for (let j = 0; j < n; j++) if (!(keepStable && reference && (reference.upper[j]! <= 0 || reference.lower[j]! >= 0))) open.push(j);
    // Upper bounds first: rows −e_j of every open neuron, carried back a block at a time. With
    // reference bounds to fall back on (a relu reads this slot), a neuron whose upper bound is ≤ 0
    // needs no lower bound of its own: the relu's relaxation and output are 0 whatever it is, so
    // it keeps the reference's.
    const above = this.lowerBounds(slot, open.length, (k, into) => (into[open[k]!] = -1), r, state, (k) => open[k]!);
    open.forEach((j, k) => (upper[j] = -above[k]!));
    const needed = reference ? open.filter((j) => upper[j]! > 0) : open;
    const below = this.lowerBounds(slot, needed.length, (k, into) => (into[needed[k]!] = 1), r, state, (k) => needed[k]!);
    needed.forEach((j, k) => (lower[j] = below[k]!));
    const earlier = refinement?.tighten?.slots[slot];
    const c = refinement ? new Float64Array(n) : null;
    open.forEach((j) => {
      if (c) {
        c[j] = 1;
        if (lower[j]! < 0 && !(reference && upper[j]! <= 0)) lower[j] = Math.max(lower[j]!, refinement!.refine(slot, c, state));
        c[j] = -1;
        if (upper[j]! > 0) upper[j] = Math.min(upper[j]!, -refinement!.refine(slot, c, state));
        c[j] = 0;
      }
      if (earlier) {
        lower[j] = Math.max(lower[j]!, earlier.lower[j]!);
        upper[j] = Math.min(upper[j]!, earlier.upper[j]!);
      }
    });
    return { lower, upper };
  }

  /**
   * Lower bounds of c·(slot) over the region for `count` rows c (written by `write`), by backward
   * passes a block of rows at a time. `entryOf(k)`: row k's only nonzero entry, when each has one.
   */
  lowerBounds(slot: number, count: number, write: RowWriter, r: Region, state: LinearBounds, entryOf?: (k: number) => number): Float64Array {
    const ball = this.ballInput;
    // Rows stop at the dense layer that reads the input: bounded there from its Gram matrix under
    // L2, or by one kernel call per row that forms Wᵀλ and minimises over the region.
    if (ball && this.producer[slot]! >= ball.node && (r.norm === 'l2' || ball.fused)) {
      return this.backwardRows(slot, count, write, state, null, entryOf, ball.node, (bias, lambdas, rows, out, at) => {
        const found = ball.lowerBounds(lambdas, rows, r);
        for (let j = 0; j < rows; j++) out[at + j] = bias[j]! + found[j]!;
      });
    }
    return this.backwardRows(slot, count, write, state, (bias, a, support) => bias + minimizeOn(r, a, support), entryOf);
  }

  /**
   * Carries `count` rows back from `slot` to the input, ROW_BLOCK at a time, and returns
   * `visit(bias, input coefficients, their support)` per row; with `stopAt` (a node index), back
   * to that node's output only (its bias included), and `visit` gets the coefficients there.
   */
  private backwardRows(
    slot: number,
    count: number,
    write: RowWriter,
    state: LinearBounds,
    visit: ((bias: number, a: Vec, support: Support) => number) | null,
    entryOf?: (k: number) => number,
    stopAt = -1,
    /** Instead of `visit`: the whole block at once (rows' coefficients end to end), written to out[at …]. */
    visitBlock?: (bias: Float64Array, a: Float64Array, rows: number, out: Float64Array, at: number) => void,
  ): Float64Array {
    const out = new Float64Array(count);
    const size = this.sizes[slot]!;
    const end = stopAt >= 0 ? this.graph.nodes[stopAt]!.output : this.graph.input;
    const inputSize = this.sizes[end]!;
    const top = this.block(slot);
    const topSupport = this.support(slot);
    const bias = new Float64Array(ROW_BLOCK);
    for (let from = 0; from < count; from += ROW_BLOCK) {
      const k = Math.min(ROW_BLOCK, count - from);
      for (let j = 0; j < k; j++) {
        const row = top.subarray(j * size, (j + 1) * size);
        write(from + j, row);
        if (entryOf) topSupport.add(entryOf(from + j));
        else for (let e = 0; e < size; e++) if (row[e] !== 0) topSupport.add(e);
      }
      bias.fill(0);
      const reached = this.backwardBlock(slot, k, state, bias, stopAt);
      const a = this.block(end);
      const support = this.support(end);
      if (visitBlock) visitBlock(bias, a, k, out, from);
      else for (let j = 0; j < k; j++) out[from + j] = visit!(bias[j]!, a.subarray(j * inputSize, (j + 1) * inputSize), support);
      for (const s of reached) this.supports[s]!.clear(this.blocks[s]!, k);
    }
    return out;
  }

  private block(slot: number): Float64Array {
    return (this.blocks[slot] ??= new Float64Array(ROW_BLOCK * this.sizes[slot]!));
  }

  private support(slot: number): Support {
    return (this.supports[slot] ??= new Support(this.sizes[slot]!));
  }

  /**
   * backward() for `rows` rows in this.blocks; adds each row's constant into `bias`. Each slot's
   * support lists where its rows may be nonzero: every step reads only its output's support and
   * lists what it writes in its inputs'.
   */
  private backwardBlock(slot: number, rows: number, state: LinearBounds, bias: Float64Array, stopAt: number): Set<number> {
    const reached = new Set<number>([slot]);
    for (let i = this.producer[slot]!; i >= 0; i--) {
      const node = this.graph.nodes[i]!;
      if (!reached.has(node.output)) continue;
      const n = this.sizes[node.output]!;
      const a = this.block(node.output);
      const from = this.support(node.output);
      if (node.op.affine) {
        const b = node.op.bias;
        if (b) {
          for (let t = 0; t < from.count; t++) {
            const e = from.at(t);
            const be = b[e]!;
            if (be === 0) continue;
            for (let j = 0; j < rows; j++) bias[j]! += a[j * n + e]! * be;
          }
        }
        if (i === stopAt) continue;
      }
      for (const s of node.inputs) reached.add(s);
      const into = node.inputs.map((s) => this.block(s));
      const to = node.inputs.map((s) => this.support(s));
      if (node.op.affine) {
        if (node.op.transposeSparse && node.inputs.length === 1) node.op.transposeSparse(a, rows, from, into[0]!, to[0]!);
        else {
          if (node.op.transposeRows) node.op.transposeRows(a, rows, into);
          else {
            for (let j = 0; j < rows; j++) {
              node.op.transpose(
                a.subarray(j * n, (j + 1) * n),
                node.inputs.map((s, t) => into[t]!.subarray(j * this.sizes[s]!, (j + 1) * this.sizes[s]!)),
              );
            }
          }
          for (const s of to) s.fill();
        }
        continue;
      }
      const relaxation = state.relaxations[i]!;
      const x = into[0]!;
      const xs = to[0]!;
      if (isPool(relaxation)) {
        const { exact, chosen, ceiling } = relaxation;
        const m = this.sizes[node.inputs[0]!]!;
        for (let t = 0; t < from.count; t++) {
          const o = from.at(t);
          const c = chosen[o]!;
          const decided = exact[o] === 1;
          xs.add(c);
          for (let j = 0; j < rows; j++) {
            const w = a[j * n + o]!;
            if (w === 0) continue;
            if (w > 0 || decided) x[j * m + c]! += w;
            else bias[j]! += w * ceiling[o]!;
          }
        }
        continue;
      }
      const { lowerSlope, lowerIntercept, upperSlope, upperIntercept } = relaxation;
      if (from.full) xs.fill();
      for (let t = 0; t < from.count; t++) {
        const e = from.at(t);
        xs.add(e);
        for (let j = 0; j < rows; j++) {
          const o = j * n + e;
          const w = a[o]!;
          if (w === 0) continue;
          if (w > 0) {
            x[o]! += w * lowerSlope[e]!;
            bias[j]! += w * lowerIntercept[e]!;
          } else {
            x[o]! += w * upperSlope[e]!;
            bias[j]! += w * upperIntercept[e]!;
          }
        }
      }
    }
    return reached;
  }

  /** A lower bound of c·(slot) over the region, by one backward pass. */
  lowerBound(slot: number, c: Vec, r: Region, state: LinearBounds, slopes?: SlopeOverride): number {
    const reached = this.backward(slot, c, state, slopes);
    const bound = reached.bias + minimize(r, this.buffers[this.graph.input]!);
    this.clear(reached.slots);
    return bound;
  }

  /**
   * The lower bound of c·(slot) under the given lower slopes, and its gradient in those slopes
   * (for the nodes in `slopes`, over their free indices): the derivative of the backward pass,
   * taken by running the relaxed network forward from the minimising input.
   */
  lowerBoundWithGradient(slot: number, c: Vec, r: Region, state: LinearBounds, slopes: SlopeOverride): { bound: number; gradient: Map<number, Vec> } {
    const reached = this.backward(slot, c, state, slopes);
    const input = this.graph.input;
    const point = new Float64Array(this.sizes[input]!);
    const bound = reached.bias + minimize(r, this.buffers[input]!, point);
    const values: Vec[] = [];
    values[input] = point;
    const gradient = new Map<number, Vec>();
    const last = this.producer[slot]!;
    for (let i = 0; i <= last; i++) {
      const node = this.graph.nodes[i]!;
      if (!reached.slots.has(node.output)) continue;
      const out = new Float64Array(this.sizes[node.output]!);
      const inputs = node.inputs.map((s) => values[s]!);
      const a = this.buffers[node.output]!;
      if (node.op.affine) {
        node.op.linear(inputs, out, false);
        if (node.op.bias) for (let j = 0; j < out.length; j++) out[j]! += node.op.bias[j]!;
      } else {
        const relaxation = state.relaxations[i]!;
        const x = inputs[0]!;
        if (isPool(relaxation)) {
          for (let o = 0; o < out.length; o++) out[o] = a[o]! >= 0 || relaxation.exact[o] ? x[relaxation.chosen[o]!]! : relaxation.ceiling[o]!;
        } else {
          const lowerSlope = slopes.get(i) ?? relaxation.lowerSlope;
          for (let j = 0; j < out.length; j++) {
            out[j] = a[j]! >= 0 ? lowerSlope[j]! * x[j]! + relaxation.lowerIntercept[j]! : relaxation.upperSlope[j]! * x[j]! + relaxation.upperIntercept[j]!;
          }
          if (slopes.has(i)) {
            const g = new Float64Array(out.length);
            for (const j of relaxation.free) if (a[j]! > 0) g[j] = a[j]! * x[j]!;
            gradient.set(i, g);
          }
        }
      }
      values[node.output] = out;
    }
    this.clear(reached.slots);
    return { bound, gradient };
  }

  /** Carries c back to the input; coefficients are left in this.buffers for the reached slots. */
  private backward(slot: number, c: Vec, state: LinearBounds, slopes?: SlopeOverride): { bias: number; slots: Set<number> } {
    const reached = new Set<number>([slot]);
    this.buffers[slot]!.set(c);
    let bias = 0;
    for (let i = this.producer[slot]!; i >= 0; i--) {
      const node = this.graph.nodes[i]!;
      if (!reached.has(node.output)) continue;
      const a = this.buffers[node.output]!;
      for (const s of node.inputs) reached.add(s);
      const into = node.inputs.map((s) => this.buffers[s]!);
      if (node.op.affine) {
        if (node.op.bias) bias += dot(a, node.op.bias);
        node.op.transpose(a, into);
        continue;
      }
      const relaxation = state.relaxations[i]!;
      const x = into[0]!;
      if (isPool(relaxation)) {
        for (let o = 0; o < a.length; o++) {
          const w = a[o]!;
          if (w === 0) continue;
          if (w > 0 || relaxation.exact[o]) x[relaxation.chosen[o]!]! += w;
          else bias += w * relaxation.ceiling[o]!;
        }
        continue;
      }
      const lowerSlope = slopes?.get(i) ?? relaxation.lowerSlope;
      for (let j = 0; j < a.length; j++) {
        const w = a[j]!;
        if (w === 0) continue;
        if (w > 0) {
          x[j]! += w * lowerSlope[j]!;
          bias += w * relaxation.lowerIntercept[j]!;
        } else {
          x[j]! += w * relaxation.upperSlope[j]!;
          bias += w * relaxation.upperIntercept[j]!;
        }
      }
    }
    return { bias, slots: reached };
  }

  private clear(slots: Set<number>): void {
    for (const s of slots) this.buffers[s]!.fill(0);
  }
}

const unitRow: RowWriter = (j, into) => (into[j] = 1);
const signedUnitRow: RowWriter = (k, into) => (into[k >> 1] = k & 1 ? -1 : 1);

function copy(values: Vec, allocate: Allocate): Vec {
  const out = allocate(values.length);
  out.set(values);
  return out;
}

function centre({ lower, upper }: Interval): Vec {
  const out = new Float64Array(lower.length);
  for (let i = 0; i < out.length; i++) out[i] = (lower[i]! + upper[i]!) / 2;
  return out;
}

function halfWidth({ lower, upper }: Interval): Vec {
  const out = new Float64Array(lower.length);
  for (let i = 0; i < out.length; i++) out[i] = (upper[i]! - lower[i]!) / 2;
  return out;
}

function dot(a: Vec, b: Vec): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

/** min of c·z over the box of z. */
function intervalDot(c: Vec, { lower, upper }: Interval): number {
  let s = 0;
  for (let i = 0; i < c.length; i++) s += c[i]! * (c[i]! >= 0 ? lower[i]! : upper[i]!);
  return s;
}
