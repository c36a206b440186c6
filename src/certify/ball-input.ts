/**
 * CROWN's last backward step under L2 when the input reaches the network only through one dense
 * layer (after reshapes, as in an MLP over images). With λ the coefficients on that layer's
 * output, the row to bound is λ·(Wx) over the ball ∩ box:
 *
 * - over the ball, min λ·(Wx) = λ·(Wx₀) − ε‖Wᵀλ‖₂, and ‖Wᵀλ‖₂² = λᵀ(WWᵀ)λ needs the units×units
 *   Gram matrix (found once per layer), not the inputs-long vector Wᵀλ. The float64 rounding of
 *   the quadratic form is bounded by γ·|λ|ᵀ(|W||W|ᵀ)|λ| ≤ γ·(Σᵤ |λᵤ|·‖Wᵤ‖)² and added to it, so the
 *   norm is never underestimated;
 * - over the box, min λ·(Wx) = g·x₀ − Σᵢ |gᵢ|dᵢ with g = Wᵀλ and dᵢ the distance from x₀ᵢ to the
 *   face g's sign picks, at least mᵢ = the distance to the nearer face. Where few inputs have
 *   mᵢ > 0 (a digit's background sits on the bound 0), Σᵢ |gᵢ|mᵢ ≥ ε‖g‖ is checked on those
 *   inputs alone: then the box cannot beat the ball and Wᵀλ is never formed. Otherwise the bound
 *   is the larger of the two, as minimize() finds it from Wᵀλ.
 *
 * With the SIMD kernels none of that is needed: one kernel call forms Wᵀλ eight inputs at a time
 * and accumulates the box's minimum, λ·(Wx₀) and ‖Wᵀλ‖₂² as it goes (under L∞ too), cheaper than
 * the Gram matrix's units² per row.
 */
import type { BoundGraph } from './graph.js';
import type { Vec } from './ops/bound-op.js';
import { DenseBound } from './ops/dense.js';
import type { DenseWeights } from './ops/dense-batch.js';
import { minimize, type Region } from './region.js';

/** Per region: the layer's value at the centre (without bias), and the inputs away from both faces of the box. */
interface AtRegion {
  centre: Vec;
  inside: Int32Array;
  distance: Float64Array;
}

export class BallThroughDense {
  private readonly weights: DenseWeights;
  private readonly regions = new WeakMap<Region, AtRegion>();
  private readonly active: Int32Array;
  /** Relative size of the quadratic form's rounding: (inputs + 2·units + 4)·2⁻⁵². */
  private readonly gamma: number;
  /** ‖Wᵤ‖₂ per unit, and per input the norm of its weights. */
  private readonly rowNorms: Float64Array;
  private readonly columnNorms: Float64Array;

  private constructor(
    /** Index of the dense node among the graph's nodes. */
    readonly node: number,
    private readonly op: DenseBound,
  ) {
    this.weights = op.weights;
    this.active = new Int32Array(this.weights.units);
    this.gamma = (this.weights.inputs + 2 * this.weights.units + 4) * Number.EPSILON;
    const { rows, inputs, units } = this.weights;
    this.rowNorms = new Float64Array(units);
    for (let u = 0; u < units; u++) {
      let s = 0;
      for (let i = 0; i < inputs; i++) s += rows[u * inputs + i]! ** 2;
      this.rowNorms[u] = Math.sqrt(s);
    }
    this.columnNorms = new Float64Array(inputs);
    for (let i = 0; i < inputs; i++) {
      let s = 0;
      for (let u = 0; u < units; u++) s += rows[u * inputs + i]! ** 2;
      this.columnNorms[i] = Math.sqrt(s);
    }
  }

  /** The dense node through which alone the input is read, reshapes before it allowed; null otherwise. */
  static find(graph: BoundGraph): BallThroughDense | null {
    let slot = graph.input;
    for (;;) {
      const readers = graph.nodes.map((n, i) => [n, i] as const).filter(([n]) => n.inputs.includes(slot));
      if (readers.length !== 1) return null;
      const [node, index] = readers[0]!;
      if (node.inputs.length !== 1) return null;
      if (node.op instanceof DenseBound) return node.op.positions === 1 ? new BallThroughDense(index, node.op) : null;
      if (!node.op.affine || node.op.kind !== 'reshape') return null;
      slot = node.output;
    }
  }

  /**
   * Whether rows under L∞ stop here too: with the SIMD kernels, Wᵀλ is formed and minimised over
   * the box inside one kernel call, without writing the input-long coefficients back.
   */
  get fused(): boolean {
    return this.weights.simd() !== null;
  }

  /** A lower bound of λ·(Wx) over the region (an L2 ball ∩ box, or an L∞ box when fused); λ is left unchanged. */
  lowerBound(lambda: Vec, r: Region): number {
    return this.lowerBounds(lambda, 1, r)[0]!;
  }

  /**
   * lowerBound() of `rows` rows λ (units each, end to end). The rows share the compacted weights:
   * the Gram matrix and each input's weights are gathered once for the block, over the units some
   * row uses.
   */
  lowerBounds(lambdas: Vec, rows: number, r: Region): Float64Array {
    const kernel = this.weights.simd();
    if (kernel) return kernel.rowMinima(lambdas, rows, r);
    const at = this.at(r);
    const gram = this.weights.gram();
    const units = this.weights.units;
    const out = new Float64Array(rows);
    // The units some row uses, and every row's coefficients on them: [rows, k].
    let k = 0;
    for (let u = 0; u < units; u++) {
      for (let j = 0; j < rows; j++) {
        if (lambdas[j * units + u] !== 0) {
          this.active[k++] = u;
          break;
        }
      }
    }
    const lam = this.scratch(rows * k);
    for (let j = 0; j < rows; j++) for (let t = 0; t < k; t++) lam[j * k + t] = lambdas[j * units + this.active[t]!]!;
    const row = new Float64Array(k);
    const norms = new Float64Array(rows);
    const balls = new Float64Array(rows);
    const quadratic = new Float64Array(rows);
    // λᵀGλ per row, one gathered row of G at a time.
    for (let s = 0; s < k; s++) {
      const base = this.active[s]! * units;
      for (let t = 0; t < k; t++) row[t] = gram[base + this.active[t]!]!;
      for (let j = 0; j < rows; j++) {
        const o = j * k;
        let g = 0;
        for (let t = 0; t < k; t++) g += row[t]! * lam[o + t]!;
        quadratic[j]! += lam[o + s]! * g;
      }
    }
    for (let j = 0; j < rows; j++) {
      const o = j * k;
      let centre = 0;
      let rowNorms = 0;
      for (let t = 0; t < k; t++) {
        const u = this.active[t]!;
        centre += lam[o + t]! * at.centre[u]!;
        rowNorms += Math.abs(lam[o + t]!) * this.rowNorms[u]!;
      }
      // |λ|ᵀ(|W||W|ᵀ)|λ| ≤ (Σᵤ |λᵤ|·‖Wᵤ‖)² by Cauchy–Schwarz on each entry.
      norms[j] = Math.sqrt(Math.max(0, quadratic[j]!) + this.gamma * rowNorms * rowNorms);
      balls[j] = centre - r.epsilon * norms[j]!;
    }
    // Rows whose box is shown no tighter than the ball keep the ball's bound.
    const settled = new Uint8Array(rows);
    if (at.inside.length <= this.weights.inputs / 2) {
      const penalty = new Float64Array(rows);
      let open = rows;
      for (let t = 0; t < at.inside.length && open > 0; t++) {
        this.weights.gatherInput(at.inside[t]!, this.active, k, row);
        const m = at.distance[t]!;
        for (let j = 0; j < rows; j++) {
          if (settled[j]) continue;
          const o = j * k;
          let g = 0;
          for (let v = 0; v < k; v++) g += row[v]! * lam[o + v]!;
          penalty[j]! += Math.abs(g) * m;
          if (penalty[j]! >= r.epsilon * norms[j]!) {
            settled[j] = 1;
            open--;
          }
        }
      }
    }
    // The others form Wᵀλ, together (each weight row read once per four of them).
    const unsettled: number[] = [];
    for (let j = 0; j < rows; j++) {
      if (settled[j]) out[j] = balls[j]!;
      else unsettled.push(j);
    }
    if (unsettled.length === 0) return out;
    const n = this.weights.inputs;
    const picked = new Float64Array(unsettled.length * units);
    unsettled.forEach((j, t) => picked.set(lambdas.subarray(j * units, (j + 1) * units), t * units));
    const full = new Float64Array(unsettled.length * n);
    this.op.transposeRows(picked, unsettled.length, [full]);
    unsettled.forEach((j, t) => (out[j] = Math.max(balls[j]!, minimize(r, full.subarray(t * n, (t + 1) * n)))));
    return out;
  }

  private buffer = new Float64Array(0);

  private scratch(n: number): Float64Array {
    if (this.buffer.length < n) this.buffer = new Float64Array(n);
    return this.buffer;
  }

  private at(r: Region): AtRegion {
    let at = this.regions.get(r);
    if (at) return at;
    const centre = new Float64Array(this.weights.units);
    this.weights.products(r.center, null, 1, centre, null);
    const inside: { i: number; m: number; weight: number }[] = [];
    for (let i = 0; i < r.center.length; i++) {
      const m = Math.min(r.center[i]! - r.lower[i]!, r.upper[i]! - r.center[i]!);
      if (m > 0) inside.push({ i, m, weight: m * this.columnNorms[i]! });
    }
    // Inputs likely to add most come first: the check usually ends early.
    inside.sort((a, b) => b.weight - a.weight);
    at = { centre, inside: Int32Array.from(inside, (e) => e.i), distance: Float64Array.from(inside, (e) => e.m) };
    this.regions.set(r, at);
    return at;
  }
}
