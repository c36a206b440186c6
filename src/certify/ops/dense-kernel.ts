/**
 * A dense layer on the SIMD kernels (wasm/kernels.wat). Forward, for IBP: W·x and |W|·r for many
 * vectors (boxes' centres and radii, L2 balls' centres), each from the weights' column sums and
 * only the inputs that differ from its first value, as the portable route's sparse path computes
 * them. Backward, for CROWN: rows carried through the layer from the units they reach, and, when
 * the layer reads the input, each row's minimum over the region formed in the same call as Wᵀλ.
 * W and |W| (by input) and Wᵀ (by unit, on first backward use) are copied into the kernel's
 * memory once, padded to whole chunks of eight.
 */
import type { Vec } from './bound-op.js';
import { halvesOf, type Region } from '../region.js';
import { align, KernelHeap } from '../wasm/heap.js';

export class DenseKernel {
  private readonly chunks: number;
  /** Bytes per padded column. */
  private readonly stride: number;
  private readonly columns: number;
  private readonly absColumns: number;

  private constructor(
    private readonly heap: KernelHeap,
    /** W, [inputs, units], row-major. */
    private readonly source: Float64Array,
    private readonly inputs: number,
    private readonly units: number,
    private readonly sums: Float64Array,
    private readonly absSums: Float64Array,
  ) {
    this.chunks = Math.ceil(units / 8);
    const padded = this.chunks * 8;
    this.stride = padded * 8;
    this.columns = heap.keep(inputs * this.stride);
    this.absColumns = heap.keep(inputs * this.stride);
    const f64 = heap.f64;
    for (let i = 0; i < inputs; i++) {
      const w = (this.columns >> 3) + i * padded;
      const a = (this.absColumns >> 3) + i * padded;
      for (let u = 0; u < units; u++) {
        const v = source[i * units + u]!;
        f64[w + u] = v;
        f64[a + u] = Math.abs(v);
      }
    }
  }

  /** Wᵀ, [units, inputs padded to whole chunks], copied in on the first backward product. */
  private transposed = -1;

  /** The kernel route for these weights, or null where the kernels do not run. */
  static create(columns: Float64Array, inputs: number, units: number, sums: Float64Array, absSums: Float64Array): DenseKernel | null {
    const heap = KernelHeap.create();
    return heap ? new DenseKernel(heap, columns, inputs, units, sums, absSums) : null;
  }

  /**
   * For `count` vectors of `inputs` values end to end: out[v] = W·x[v], and, when `r` is given,
   * outAbs[v] = |W|·r[v].
   */
  products(x: Vec, r: Vec | null, count: number, out: Vec, outAbs: Vec | null): void {
    this.run(x, r, false, count, out, outAbs, null);
  }

  /**
   * IBP of `count` boxes (l, u) end to end: with c = W·(l + u)/2 + b and r = |W|·(u − l)/2,
   * lower = c − r and upper = c + r, the centres and radii formed while the inputs are read.
   */
  intervals(l: Vec, u: Vec, count: number, bias: Vec | null, lower: Vec, upper: Vec): void {
    this.run(l, u, true, count, lower, upper, bias);
  }

  /**
   * intervals() of boxes that are the bounding boxes of L2 balls (intersected with the input
   * bounds): each output is also bounded over its ball, W·x₀ + b ∓ ε‖Wᵤ‖₂ (`norms` per unit), and
   * the tighter side kept. W·x₀ comes from the same pass over the inputs as the box's products,
   * over the inputs where the box or the centre differ from the first input's.
   */
  intervalsOverBalls(l: Vec, u: Vec, centres: Vec, epsilons: ArrayLike<number>, norms: Vec, count: number, bias: Vec | null, lower: Vec, upper: Vec): void {
    const { heap, inputs: n, units, chunks, stride } = this;
    const padded = chunks * 8;
    const at = heap.workBase;
    const coefM = align(at + 4 * n);
    const coefR = align(coefM + 8 * n);
    const coefC = align(coefR + 8 * n);
    const outM = align(coefC + 8 * n);
    const outR = outM + 8 * padded;
    const outC = outR + 8 * padded;
    heap.ensure(outC + 8 * padded);
    const f64 = heap.f64;
    const i32 = heap.i32;
    const [atI, mI, rI, cI, oM, oR, oC] = [at >> 2, coefM >> 3, coefR >> 3, coefC >> 3, outM >> 3, outR >> 3, outC >> 3];
    for (let v = 0; v < count; v++) {
      const base = v * n;
      const l0 = l[base]!;
      const u0 = u[base]!;
      const c0 = centres[base]!;
      const x0 = (l0 + u0) / 2;
      const r0 = (u0 - l0) / 2;
      let k = 0;
      for (let i = 0; i < n; i++) {
        const li = l[base + i]!;
        const ui = u[base + i]!;
        const ci = centres[base + i]!;
        if (li === l0 && ui === u0 && ci === c0) continue;
        i32[atI + k] = i * stride;
        f64[mI + k] = (li + ui) / 2 - x0;
        f64[rI + k] = (ui - li) / 2 - r0;
        f64[cI + k++] = ci - c0;
      }
      for (let j = 0; j < units; j++) {
        f64[oM + j] = x0 * this.sums[j]!;
        f64[oR + j] = r0 * this.absSums[j]!;
        f64[oC + j] = c0 * this.sums[j]!;
      }
      heap.rows2(this.columns, at, coefM, coefC, k, outM, outC, chunks);
      heap.rows(this.absColumns, at, coefR, k, outR, chunks);
      const o = v * units;
      const epsilon = epsilons[v]!;
      for (let j = 0; j < units; j++) {
        const b = bias ? bias[j]! : 0;
        const c = f64[oM + j]! + b;
        const rad = f64[oR + j]!;
        const centre = f64[oC + j]! + b;
        const reach = epsilon * norms[j]!;
        lower[o + j] = Math.max(c - rad, centre - reach);
        upper[o + j] = Math.min(c + rad, centre + reach);
      }
    }
  }

  /** `box`: x and r are a box's lower and upper ends, and the outputs its interval image. */
  private run(x: Vec, r: Vec | null, box: boolean, count: number, out: Vec, outAbs: Vec | null, bias: Vec | null): void {
    const { heap, inputs: n, units, chunks, stride } = this;
    const padded = chunks * 8;
    const at = heap.workBase;
    const coefM = align(at + 4 * n);
    const coefR = align(coefM + 8 * n);
    const outM = align(coefR + 8 * n);
    const outR = outM + 8 * padded;
    heap.ensure(outR + 8 * padded);
    const f64 = heap.f64;
    const i32 = heap.i32;
    const atI = at >> 2;
    const mI = coefM >> 3;
    const rI = coefR >> 3;
    const oM = outM >> 3;
    const oR = outR >> 3;
    for (let v = 0; v < count; v++) {
      const base = v * n;
      let k = 0;
      let x0: number;
      let r0 = 0;
      if (box) {
        const l0 = x[base]!;
        const u0 = r![base]!;
        x0 = (l0 + u0) / 2;
        r0 = (u0 - l0) / 2;
        for (let i = 0; i < n; i++) {
          const li = x[base + i]!;
          const ui = r![base + i]!;
          if (li === l0 && ui === u0) continue;
          i32[atI + k] = i * stride;
          f64[mI + k] = (li + ui) / 2 - x0;
          f64[rI + k++] = (ui - li) / 2 - r0;
        }
      } else if (r) {
        x0 = x[base]!;
        r0 = r[base]!;
        for (let i = 0; i < n; i++) {
          const xi = x[base + i]!;
          const ri = r[base + i]!;
          if (xi === x0 && ri === r0) continue;
          i32[atI + k] = i * stride;
          f64[mI + k] = xi - x0;
          f64[rI + k++] = ri - r0;
        }
      } else {
        x0 = x[base]!;
        for (let i = 0; i < n; i++) {
          const xi = x[base + i]!;
          if (xi === x0) continue;
          i32[atI + k] = i * stride;
          f64[mI + k++] = xi - x0;
        }
      }
      for (let u = 0; u < units; u++) f64[oM + u] = x0 * this.sums[u]!;
      heap.rows(this.columns, at, coefM, k, outM, chunks);
      // Element by element: a subarray view per vector would cost more than the copy.
      if (!r || !outAbs) {
        for (let j = 0; j < units; j++) out[v * units + j] = f64[oM + j]!;
        continue;
      }
      for (let u = 0; u < units; u++) f64[oR + u] = r0 * this.absSums[u]!;
      heap.rows(this.absColumns, at, coefR, k, outR, chunks);
      const o = v * units;
      if (!box) {
        for (let j = 0; j < units; j++) {
          out[o + j] = f64[oM + j]!;
          outAbs[o + j] = f64[oR + j]!;
        }
        continue;
      }
      for (let j = 0; j < units; j++) {
        const c = f64[oM + j]! + (bias ? bias[j]! : 0);
        const rad = f64[oR + j]!;
        out[o + j] = c - rad;
        outAbs[o + j] = c + rad;
      }
    }
  }

  /**
   * t[v] += a[v]·Wᵀ for `count` vectors of `units` coefficients (a, end to end) and of `inputs`
   * values (t): a backward row carried through the layer, from the units where it is nonzero
   * (an inactive relu leaves its unit at zero in every row).
   */
  accumulate(a: Vec, count: number, t: Vec): void {
    const { heap, inputs: n, units } = this;
    const chunks = Math.ceil(n / 8);
    const stride = chunks * 64;
    const transposed = this.transposedWeights();
    const at = heap.workBase;
    const coef = align(at + 4 * units);
    const out = align(coef + 8 * units);
    heap.ensure(out + stride);
    const f64 = heap.f64;
    const atI = at >> 2;
    const cI = coef >> 3;
    const oI = out >> 3;
    for (let v = 0; v < count; v++) {
      const k = this.listNonzero(a, v * units, atI, cI);
      if (k === 0) continue;
      const o = v * n;
      f64.set(t.subarray(o, o + n), oI);
      heap.rows(transposed, at, coef, k, out, chunks);
      t.set(f64.subarray(oI, oI + n), o);
    }
  }

  /**
   * Lists for the kernel the units where one row of coefficients (a[from …], `units` of them) is
   * nonzero: each unit's byte offset into Wᵀ at i32[atI …], its coefficient at f64[cI …]. Returns
   * how many.
   */
  private listNonzero(a: Vec, from: number, atI: number, cI: number): number {
    const { heap, units } = this;
    // A row of Wᵀ: the inputs padded to eight float64s.
    const stride = Math.ceil(this.inputs / 8) * 64;
    const { i32, f64 } = heap;
    let k = 0;
    for (let u = 0; u < units; u++) {
      const c = a[from + u]!;
      if (c === 0) continue;
      i32[atI + k] = u * stride;
      f64[cI + k++] = c;
    }
    return k;
  }

  /** Where Wᵀ lives in the kernel's memory (copied in on first use). */
  private transposedWeights(): number {
    if (this.transposed >= 0) return this.transposed;
    const { heap, inputs: n, units } = this;
    const padded = Math.ceil(n / 8) * 8;
    this.transposed = heap.keep(units * padded * 8);
    const f64 = heap.f64;
    for (let u = 0; u < units; u++) {
      const base = (this.transposed >> 3) + u * padded;
      for (let i = 0; i < n; i++) f64[base + i] = this.source[i * units + u]!;
    }
    return this.transposed;
  }

  /** The region whose box and centre are in the kernel's memory, and where. */
  private placed: Region | null = null;
  private regionAt = -1;

  /**
   * Per row λ (`units` coefficients, `rows` of them end to end), a lower bound of λ·(W x) over
   * the region, x the layer's input: min over the box of (Wᵀλ)·x, and under L2 the larger of that
   * and the ball's λ·(W x₀) − ε‖Wᵀλ‖₂, as minimize() gives them. Wᵀλ is formed chunk by chunk
   * inside the kernel and never stored.
   */
  rowMinima(lambdas: Vec, rows: number, r: Region): Float64Array {
    if (this.placed !== r) {
      const { mid, radius } = halvesOf(r);
      this.place(mid, radius, r.center);
      this.placed = r;
    }
    return this.minima(lambdas, rows, r.norm === 'l2' ? r.epsilon : -1);
  }

  /**
   * Per row c (units entries each), min over the box [l, u] of the layer's input x of c·(W x):
   * the margin rows of a last layer over its input's IBP bounds. Everything is written straight
   * into the kernel's memory: this runs once per sample, where small allocations would cost more
   * than the arithmetic.
   */
  boxMinima(rows: readonly Vec[], l: Vec, u: Vec): number[] {
    const { heap, inputs: n, units } = this;
    const chunks = Math.ceil(n / 8);
    const padded = chunks * 8;
    const transposed = this.transposedWeights();
    if (this.regionAt < 0) this.regionAt = heap.keep(3 * padded * 8);
    this.placed = null;
    const at = heap.workBase;
    const coef = align(at + 4 * units);
    const result = align(coef + 8 * units);
    heap.ensure(result + 64);
    const f64 = heap.f64;
    const mid = this.regionAt >> 3;
    const rad = mid + padded;
    for (let i = 0; i < n; i++) {
      f64[mid + i] = (l[i]! + u[i]!) / 2;
      f64[rad + i] = (u[i]! - l[i]!) / 2;
    }
    const out: number[] = [];
    for (const c of rows) {
      const k = this.listNonzero(c, 0, at >> 2, coef >> 3);
      // The centre slot is not read for a box: the mid's place stands in for it.
      heap.rowsMinimum(transposed, at, coef, k, chunks, this.regionAt, this.regionAt + padded * 8, this.regionAt, result);
      out.push(f64[result >> 3]!);
    }
    return out;
  }

  /** Copies a box and a ball's centre into the kernel's memory (kept: they stay while rows are bounded). */
  private place(mid: Vec, radius: Vec, centre: Vec): void {
    const padded = Math.ceil(this.inputs / 8) * 8;
    if (this.regionAt < 0) this.regionAt = this.heap.keep(3 * padded * 8);
    const f64 = this.heap.f64;
    const base = this.regionAt >> 3;
    f64.set(mid, base);
    f64.set(radius, base + padded);
    f64.set(centre, base + 2 * padded);
  }

  /** rowMinima() over the placed region: the box's minimum, and under L2 (epsilon ≥ 0) the larger of it and the ball's. */
  private minima(lambdas: Vec, rows: number, epsilon: number): Float64Array {
    const { heap, inputs: n, units } = this;
    const chunks = Math.ceil(n / 8);
    const padded = chunks * 8;
    const transposed = this.transposedWeights();
    const at = heap.workBase;
    const coef = align(at + 4 * units);
    const coef2 = align(coef + 8 * units);
    const result = align(coef2 + 8 * units);
    heap.ensure(result + 64);
    const f64 = heap.f64;
    const i32 = heap.i32;
    const [atI, cI, c2I, rI] = [at >> 2, coef >> 3, coef2 >> 3, result >> 3];
    const [mid, rad, centre] = [this.regionAt, this.regionAt + padded * 8, this.regionAt + 2 * padded * 8];
    const out = new Float64Array(rows);
    const finish = (j: number, o: number) => {
      const box = f64[rI + o]!;
      out[j] = epsilon < 0 ? box : Math.max(box, f64[rI + o + 1]! - epsilon * Math.sqrt(f64[rI + o + 2]!));
    };
    // Two rows per call, over the units either reaches (each matrix load serves both).
    let j = 0;
    for (; j + 2 <= rows; j += 2) {
      let k = 0;
      for (let u = 0; u < units; u++) {
        const c = lambdas[j * units + u]!;
        const d = lambdas[(j + 1) * units + u]!;
        if (c === 0 && d === 0) continue;
        i32[atI + k] = u * padded * 8;
        f64[c2I + k] = d;
        f64[cI + k++] = c;
      }
      heap.rowsMinimum2(transposed, at, coef, coef2, k, chunks, mid, rad, centre, result);
      finish(j, 0);
      finish(j + 1, 3);
    }
    if (j < rows) {
      const k = this.listNonzero(lambdas, j * units, atI, cI);
      heap.rowsMinimum(transposed, at, coef, k, chunks, mid, rad, centre, result);
      finish(j, 0);
    }
    return out;
  }
}
