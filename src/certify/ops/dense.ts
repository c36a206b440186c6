/**
 * Dense over the last axis: y = xW + b at every position of the leading axes (one position for a
 * vector), its weights kept transposed.
 */
import { fresh, type AffineOp, type Allocate, type Interval, type Vec } from './bound-op.js';
import { DenseWeights } from './dense-batch.js';

/** Coefficient vectors that share one read of the weights in transpose(). */
const BLOCK = 4;

export class DenseBound implements AffineOp {
  readonly affine = true;
  readonly kind = 'dense';
  readonly outputShape: readonly number[];
  readonly outputSize: number;
  readonly bias: Vec | null;
  /** Wᵀ, [units, inputs]: each output's weights are contiguous. */
  private readonly rows: Float64Array;
  private readonly absRows: Float64Array;
  readonly weights: DenseWeights;
  private mid = new Float64Array(0);
  private rad = new Float64Array(0);
  private readonly inputs: number;
  private readonly units: number;
  /** Positions of the leading axes the layer is applied at (1 for a vector). */
  readonly positions: number;

  /** `inShape`: the per-sample input shape, its last axis the kernel's first. */
  constructor(
    readonly layer: string,
    inShape: readonly number[],
    kernel: ArrayLike<number>,
    kernelShape: readonly [number, number],
    bias: Vec | null,
  ) {
    const [inputs, units] = kernelShape;
    this.inputs = inputs;
    this.units = units;
    this.positions = inShape.slice(0, -1).reduce((a, b) => a * b, 1);
    this.outputShape = [...inShape.slice(0, -1), units];
    this.outputSize = this.positions * units;
    this.weights = new DenseWeights(kernel, inputs, units);
    this.rows = this.weights.rows;
    this.absRows = this.weights.absRows;
    if (bias && this.positions > 1) {
      const repeated = new Float64Array(this.outputSize);
      for (let p = 0; p < this.positions; p++) repeated.set(bias, p * units);
      this.bias = repeated;
    } else this.bias = bias;
  }

  linear([input]: readonly Vec[], out: Vec, abs: boolean): void {
    const n = this.inputs;
    const rows = abs ? this.absRows : this.rows;
    const x = input!;
    for (let p = 0; p < this.positions; p++) {
      const xb = p * n;
      const ob = p * this.units;
      for (let u = 0; u < this.units; u++) {
        let s = 0;
        const base = u * n;
        for (let i = 0; i < n; i++) s += rows[base + i]! * x[xb + i]!;
        out[ob + u] = s;
      }
    }
  }

  transpose(a: Vec, [into]: readonly Vec[]): void {
    this.accumulate(a, this.positions, into!);
  }

  transposeRows(a: Vec, rows: number, [into]: readonly Vec[]): void {
    this.accumulate(a, rows * this.positions, into!);
  }

  /**
   * into[v] += a[v]·Wᵀ for `count` vectors of `units` coefficients laid end to end. Four vectors
   * share each read of a weight row, and a unit whose four coefficients are all zero (an inactive
   * relu) is skipped.
   */
  private accumulate(a: Vec, count: number, t: Vec): void {
    const kernel = this.weights.simd();
    if (kernel) return kernel.accumulate(a, count, t);
    const n = this.inputs;
    const units = this.units;
    const w = this.rows;
    let v = 0;
    for (; v + BLOCK <= count; v += BLOCK) {
      const a0 = v * units;
      const o0 = v * n;
      const o1 = o0 + n;
      const o2 = o1 + n;
      const o3 = o2 + n;
      for (let u = 0; u < units; u++) {
        const c0 = a[a0 + u]!;
        const c1 = a[a0 + units + u]!;
        const c2 = a[a0 + 2 * units + u]!;
        const c3 = a[a0 + 3 * units + u]!;
        if (c0 === 0 && c1 === 0 && c2 === 0 && c3 === 0) continue;
        const base = u * n;
        for (let i = 0; i < n; i++) {
          const x = w[base + i]!;
          t[o0 + i]! += c0 * x;
          t[o1 + i]! += c1 * x;
          t[o2 + i]! += c2 * x;
          t[o3 + i]! += c3 * x;
        }
      }
    }
    for (; v < count; v++) {
      const a0 = v * units;
      const o0 = v * n;
      for (let u = 0; u < units; u++) {
        const c = a[a0 + u]!;
        if (c === 0) continue;
        const base = u * n;
        for (let i = 0; i < n; i++) t[o0 + i]! += c * w[base + i]!;
      }
    }
  }

  intervalBatch(input: Interval, batch: number, allocate: Allocate = fresh): Interval {
    const count = batch * this.positions;
    const kernel = this.weights.simd();
    if (kernel) {
      const lower = allocate(count * this.units);
      const upper = allocate(count * this.units);
      // The bias per unit: the same at every position.
      kernel.intervals(input.lower, input.upper, count, this.bias && this.bias.subarray(0, this.units), lower, upper);
      return { lower, upper };
    }
    // Centres and radii live only for this call: buffers kept between calls spare the allocations.
    if (this.mid.length < count * this.inputs) {
      this.mid = new Float64Array(count * this.inputs);
      this.rad = new Float64Array(count * this.inputs);
    }
    const { mid, rad } = this;
    const { lower: l, upper: u } = input;
    for (let i = 0; i < count * this.inputs; i++) {
      mid[i] = (l[i]! + u[i]!) / 2;
      rad[i] = (u[i]! - l[i]!) / 2;
    }
    const lower = allocate(count * this.units);
    const upper = allocate(count * this.units);
    this.weights.products(mid, rad, count, lower, upper);
    const bias = this.bias;
    const units = this.outputSize;
    for (let b = 0; b < batch; b++) {
      for (let k = 0; k < units; k++) {
        const o = b * units + k;
        const c = lower[o]! + (bias ? bias[k]! : 0);
        const r = upper[o]!;
        lower[o] = c - r;
        upper[o] = c + r;
      }
    }
    return { lower, upper };
  }

  /**
   * intervalBatch() of the bounding boxes of L2 balls (centres end to end, radii per sample),
   * each output also bounded over its ball with the units' row norms; null without the kernels
   * or for a layer applied at several positions.
   */
  intervalBatchOverBalls(input: Interval, centres: Vec, epsilons: ArrayLike<number>, norms: Vec, batch: number, allocate: Allocate = fresh): Interval | null {
    const kernel = this.weights.simd();
    if (!kernel || this.positions !== 1) return null;
    const lower = allocate(batch * this.units);
    const upper = allocate(batch * this.units);
    kernel.intervalsOverBalls(input.lower, input.upper, centres, epsilons, norms, batch, this.bias, lower, upper);
    return { lower, upper };
  }

  /**
   * Lower bounds of c·(xW + b) over a box of x, for rows c of the layer's outputs (a vector
   * layer): c·b + Σ_i min over [l_i, u_i] of (W c)_i·x_i, as c·b + Σ_i a_i·m_i − |a_i|·r_i with
   * a = W c, m and r the box's centre and radius. A margin row (two nonzero entries) reads two
   * rows of Wᵀ.
   */
  rowLowerBounds(rows: readonly Vec[], box: Interval): number[] {
    const { lower: l, upper: u } = box;
    const units = this.units;
    const n = this.inputs;
    const w = this.rows;
    const bias = this.bias;
    const kernel = this.weights.simd();
    if (kernel) {
      const found = kernel.boxMinima(rows, l, u);
      if (bias) {
        for (let k = 0; k < rows.length; k++) {
          const c = rows[k]!;
          let b = 0;
          for (let j = 0; j < units; j++) b += c[j]! * bias[j]!;
          found[k]! += b;
        }
      }
      return found;
    }
    const m = new Float64Array(n);
    const r = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      m[i] = (l[i]! + u[i]!) / 2;
      r[i] = (u[i]! - l[i]!) / 2;
    }
    const a = new Float64Array(n);
    const out: number[] = [];
    for (const c of rows) {
      let bound = 0;
      let count = 0;
      let j0 = -1;
      let j1 = -1;
      for (let j = 0; j < units; j++) {
        const cj = c[j]!;
        if (cj === 0) continue;
        if (bias) bound += cj * bias[j]!;
        if (count === 0) j0 = j;
        else j1 = j;
        count++;
      }
      if (count <= 2) {
        const c0 = j0 < 0 ? 0 : c[j0]!;
        const c1 = j1 < 0 ? 0 : c[j1]!;
        const b0 = Math.max(j0, 0) * n;
        const b1 = Math.max(j1, 0) * n;
        for (let i = 0; i < n; i++) {
          const ai = c0 * w[b0 + i]! + c1 * w[b1 + i]!;
          bound += ai * m[i]! - Math.abs(ai) * r[i]!;
        }
      } else {
        a.fill(0);
        this.accumulate(c, 1, a);
        for (let i = 0; i < n; i++) bound += a[i]! * m[i]! - Math.abs(a[i]!) * r[i]!;
      }
      out.push(bound);
    }
    return out;
  }

  linearBatch(input: Vec, batch: number, allocate: Allocate = fresh): Vec {
    const count = batch * this.positions;
    const out = allocate(count * this.units);
    this.weights.products(input, null, count, out, null);
    const bias = this.bias;
    if (bias) for (let b = 0; b < batch; b++) for (let k = 0; k < this.outputSize; k++) out[b * this.outputSize + k]! += bias[k]!;
    return out;
  }
}
