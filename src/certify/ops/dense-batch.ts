/**
 * One dense layer's products with many vectors at once (IBP of a block of samples: the boxes'
 * centres and radii): W·x and |W|·r per vector, in float64.
 *
 * A vector that mostly repeats one value (an MNIST digit's black background: most pixels have the
 * same centre and radius) is computed from the weights' column sums and only the inputs that differ
 * from it: W·x = x₀·(W·1) + W·(x − x₀), the second product reading only the differing inputs. The
 * other vectors go four at a time through the dense products, sharing each read of a weight row.
 */
import type { Vec } from './bound-op.js';
import { DenseKernel } from './dense-kernel.js';

/** Vectors whose products share one read of the weights. */
const BLOCK = 4;
/** A vector goes the sparse way when at most this share of its inputs differ from its first. */
const SPARSE_SHARE = 0.5;

export class DenseWeights {
  /** Wᵀ and |W|ᵀ, [units, inputs]: each output's weights contiguous. */
  readonly rows: Float64Array;
  readonly absRows: Float64Array;
  /** W and |W|, [inputs, units]: each input's weights contiguous. */
  private readonly columns: Float64Array;
  private readonly absColumns: Float64Array;
  /** W·1 and |W|·1, per unit. */
  private readonly sums: Float64Array;
  private readonly absSums: Float64Array;

  /** `kernel`: [inputs, units], row-major. */
  constructor(
    kernel: ArrayLike<number>,
    readonly inputs: number,
    readonly units: number,
  ) {
    this.columns = Float64Array.from(kernel);
    this.absColumns = this.columns.map(Math.abs);
    this.rows = new Float64Array(inputs * units);
    this.sums = new Float64Array(units);
    this.absSums = new Float64Array(units);
    for (let i = 0; i < inputs; i++) {
      for (let u = 0; u < units; u++) {
        const w = this.columns[i * units + u]!;
        this.rows[u * inputs + i] = w;
        this.sums[u]! += w;
        this.absSums[u]! += Math.abs(w);
      }
    }
    this.absRows = this.rows.map(Math.abs);
  }

  /** The SIMD route, made on first use (null where the kernels do not run). */
  private kernel: DenseKernel | null | undefined;

  private gramMatrix: Float64Array | null = null;

  /** W·Wᵀ, [units, units], found on first use. */
  gram(): Float64Array {
    if (this.gramMatrix) return this.gramMatrix;
    const { rows, inputs: n, units } = this;
    const gram = new Float64Array(units * units);
    for (let u = 0; u < units; u++) {
      for (let v = u; v < units; v++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += rows[u * n + i]! * rows[v * n + i]!;
        gram[u * units + v] = gram[v * units + u] = s;
      }
    }
    return (this.gramMatrix = gram);
  }

  /** Input i's weights on the listed units, into `into`. */
  gatherInput(i: number, units: Int32Array, count: number, into: Float64Array): void {
    const base = i * this.units;
    for (let t = 0; t < count; t++) into[t] = this.columns[base + units[t]!]!;
  }

  /**
   * For `count` vectors of `inputs` values end to end: out[v] = W·x[v], and, when `r` is given,
   * outAbs[v] = |W|·r[v] (vectors of `units` values end to end).
   */
  /** The SIMD route, or null where the kernels do not run. */
  simd(): DenseKernel | null {
    if (this.kernel === undefined) this.kernel = DenseKernel.create(this.columns, this.inputs, this.units, this.sums, this.absSums);
    return this.kernel;
  }

  /** W, [inputs, units], row-major: each input's weights contiguous. */
  get columnMajor(): Float64Array {
    return this.columns;
  }

  products(x: Vec, r: Vec | null, count: number, out: Vec, outAbs: Vec | null): void {
    const kernel = this.simd();
    if (kernel) return kernel.products(x, r, count, out, outAbs);
    const n = this.inputs;
    const dense: number[] = [];
    const differing = new Int32Array(n);
    for (let v = 0; v < count; v++) {
      const base = v * n;
      const x0 = x[base]!;
      const r0 = r ? r[base]! : 0;
      let k = 0;
      const limit = n * SPARSE_SHARE;
      for (let i = 0; i < n && k <= limit; i++) if (x[base + i] !== x0 || (r && r[base + i] !== r0)) differing[k++] = i;
      if (k <= limit) this.sparse(x, r, v, x0, r0, differing, k, out, outAbs);
      else dense.push(v);
    }
    this.dense(x, r, dense, out, outAbs);
  }

  /** One vector from the column sums and its `k` differing inputs. */
  private sparse(x: Vec, r: Vec | null, v: number, x0: number, r0: number, differing: Int32Array, k: number, out: Vec, outAbs: Vec | null): void {
    const units = this.units;
    const base = v * this.inputs;
    const o = v * units;
    for (let u = 0; u < units; u++) out[o + u] = x0 * this.sums[u]!;
    addColumns(this.columns, units, x, base, x0, differing, k, out, o);
    if (!outAbs) return;
    for (let u = 0; u < units; u++) outAbs[o + u] = r0 * this.absSums[u]!;
    addColumns(this.absColumns, units, r!, base, r0, differing, k, outAbs, o);
  }

  /** The listed vectors, four at a time. */
  private dense(x: Vec, r: Vec | null, vectors: readonly number[], out: Vec, outAbs: Vec | null): void {
    const n = this.inputs;
    const units = this.units;
    const rows = this.rows;
    const abs = this.absRows;
    let t = 0;
    for (; t + BLOCK <= vectors.length; t += BLOCK) {
      const v0 = vectors[t]!;
      const v1 = vectors[t + 1]!;
      const v2 = vectors[t + 2]!;
      const v3 = vectors[t + 3]!;
      const x0 = v0 * n;
      const x1 = v1 * n;
      const x2 = v2 * n;
      const x3 = v3 * n;
      for (let u = 0; u < units; u++) {
        const base = u * n;
        let m0 = 0, m1 = 0, m2 = 0, m3 = 0;
        for (let i = 0; i < n; i++) {
          const w = rows[base + i]!;
          m0 += w * x[x0 + i]!;
          m1 += w * x[x1 + i]!;
          m2 += w * x[x2 + i]!;
          m3 += w * x[x3 + i]!;
        }
        out[v0 * units + u] = m0;
        out[v1 * units + u] = m1;
        out[v2 * units + u] = m2;
        out[v3 * units + u] = m3;
        if (!outAbs) continue;
        let r0 = 0, r1 = 0, r2 = 0, r3 = 0;
        for (let i = 0; i < n; i++) {
          const a = abs[base + i]!;
          r0 += a * r![x0 + i]!;
          r1 += a * r![x1 + i]!;
          r2 += a * r![x2 + i]!;
          r3 += a * r![x3 + i]!;
        }
        outAbs[v0 * units + u] = r0;
        outAbs[v1 * units + u] = r1;
        outAbs[v2 * units + u] = r2;
        outAbs[v3 * units + u] = r3;
      }
    }
    for (; t < vectors.length; t++) {
      const v = vectors[t]!;
      const x0 = v * n;
      for (let u = 0; u < units; u++) {
        const base = u * n;
        let m = 0;
        let s = 0;
        for (let i = 0; i < n; i++) m += rows[base + i]! * x[x0 + i]!;
        if (outAbs) for (let i = 0; i < n; i++) s += abs[base + i]! * r![x0 + i]!;
        out[v * units + u] = m;
        if (outAbs) outAbs[v * units + u] = s;
      }
    }
  }
}

/** out[o..o+units) += Σ over the listed inputs i of (x[base+i] − x0)·columns[i], four columns at a time. */
function addColumns(columns: Vec, units: number, x: Vec, base: number, x0: number, listed: Int32Array, k: number, out: Vec, o: number): void {
  let t = 0;
  for (; t + 4 <= k; t += 4) {
    const i0 = listed[t]!;
    const i1 = listed[t + 1]!;
    const i2 = listed[t + 2]!;
    const i3 = listed[t + 3]!;
    const d0 = x[base + i0]! - x0;
    const d1 = x[base + i1]! - x0;
    const d2 = x[base + i2]! - x0;
    const d3 = x[base + i3]! - x0;
    const w0 = i0 * units;
    const w1 = i1 * units;
    const w2 = i2 * units;
    const w3 = i3 * units;
    for (let u = 0; u < units; u++) out[o + u]! += d0 * columns[w0 + u]! + d1 * columns[w1 + u]! + d2 * columns[w2 + u]! + d3 * columns[w3 + u]!;
  }
  for (; t < k; t++) {
    const i = listed[t]!;
    const d = x[base + i]! - x0;
    const w = i * units;
    for (let u = 0; u < units; u++) out[o + u]! += d * columns[w + u]!;
  }
}
