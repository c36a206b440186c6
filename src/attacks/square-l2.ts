/**
 * Square's L2 proposals (Andriushchenko et al. 2020; fra31/auto-attack's square.py): start from
 * a 5 × 5 grid of ± pseudo-Gaussian bumps, then each iteration moves the mass of two random
 * windows into the first one, with a fresh bump added, keeping ‖δ‖₂ = ε. A sample's δ and its
 * squared norm are kept between iterations and recomputed only when its best point moves.
 */
import type { Rng } from '../engine/random.js';
import { SquareSearch } from './square-search.js';
import type { AttackContext } from './runner.js';

export class L2Squares extends SquareSearch {
  /** f32(best − x) per sample, the layout of `best`. */
  private readonly delta: Float32Array;
  /** Σ delta² per sample, summed in index order. */
  private readonly deltaNorm2: Float64Array;
  /**
   * Running sums of delta² per sample, the layout of `best`: entry j holds the sum of the terms
   * before j. A candidate's δ equals its best δ before the first window, so its norm's sum
   * resumes there, in the same order, and comes out the same to the last bit.
   */
  private readonly prefix: Float64Array;
  /** The candidate's δ while it is built. */
  private readonly work: Float32Array;
  private readonly fresh: Float64Array;
  private readonly windowNorm2: Float64Array;
  private readonly unionNorm2: Float64Array;
  private readonly bumps = new Map<number, Float64Array>();

  constructor(ctx: AttackContext, originals: Float32Array, budget: number, epsilon: number, pInit: number) {
    super(ctx, originals, budget, epsilon, pInit);
    this.delta = new Float32Array(this.count * this.size);
    this.deltaNorm2 = new Float64Array(this.count);
    this.prefix = new Float64Array(this.count * this.size);
    this.work = new Float32Array(this.size);
    this.fresh = new Float64Array(this.size);
    this.windowNorm2 = new Float64Array(this.channels);
    this.unionNorm2 = new Float64Array(this.channels);
  }

  protected initial(i: number, out: Float32Array, at: number): void {
    const rng = this.rngs[i]!;
    const { height, width, channels } = this;
    const delta = this.work.fill(0);
    // A grid of 5 × 5 blocks (5 segments on 1-D inputs), each a ± pseudo-Gaussian bump per channel.
    const bh = Math.max(1, Math.floor(height / 5));
    const bw = Math.max(1, Math.floor(width / 5));
    const top0 = Math.floor((height - bh * Math.min(5, Math.floor(height / bh))) / 2);
    const left0 = Math.floor((width - bw * Math.min(5, Math.floor(width / bw))) / 2);
    for (let top = top0; top + bh <= height && top < top0 + 5 * bh; top += bh)
      for (let left = left0; left + bw <= width && left < left0 + 5 * bw; left += bw) {
        const bump = this.bump(bh, bw, rng);
        for (let c = 0; c < channels; c++) {
          const sign = rng.next() < 0.5 ? -1 : 1;
          for (let a = 0; a < bh; a++) for (let b = 0; b < bw; b++) delta[this.index(top + a, left + b, c)]! += sign * bump[a * bw + b]!;
        }
      }
    this.place(i, delta, out, at, 0, 0);
  }

  protected moved(i: number): void {
    const { size, originals: x, best, delta, prefix } = this;
    let n2 = 0;
    for (let j = i * size; j < (i + 1) * size; j++) {
      prefix[j] = n2;
      delta[j] = best[j]! - x[j]!;
      n2 += delta[j]! * delta[j]!;
    }
    this.deltaNorm2[i] = n2;
  }

  protected propose(i: number, it: number, out: Float32Array, at: number): void {
    const rng = this.rngs[i]!;
    const { height, width, channels: C, size, windowNorm2, unionNorm2, fresh } = this;
    const base = i * size;
    const delta = this.delta;
    const p = this.fraction(it);
    let [sh, sw] = this.window((p * size) / C, 3);
    // An odd side, as in the reference implementation, so the bump has a centre.
    if (height > 1 && sh % 2 === 0 && sh + 1 < Math.min(height, width)) sh = sw = sh + 1;
    if (height === 1 && sw % 2 === 0 && sw + 1 < width) sw += 1;
    const top1 = rng.int(height - sh + 1);
    const left1 = rng.int(width - sw + 1);
    const top2 = rng.int(height - sh + 1);
    const left2 = rng.int(width - sw + 1);

    // Squared norms per channel over window 1 and over both windows, summed in raster order.
    windowNorm2.fill(0);
    unionNorm2.fill(0);
    const rowEnd = Math.max(top1, top2) + sh;
    for (let h = Math.min(top1, top2); h < rowEnd; h++) {
      const row1 = h >= top1 && h < top1 + sh;
      const row2 = h >= top2 && h < top2 + sh;
      if (!row1 && !row2) continue;
      const from = row1 && row2 ? Math.min(left1, left2) : row1 ? left1 : left2;
      const to = row1 && row2 ? Math.max(left1, left2) + sw : from + sw;
      for (let w = from; w < to; w++) {
        const in1 = row1 && w >= left1 && w < left1 + sw;
        if (!in1 && !(row2 && w >= left2 && w < left2 + sw)) continue;
        for (let c = 0; c < C; c++) {
          const v = delta[base + this.index(h, w, c)]!;
          unionNorm2[c]! += v * v;
          if (in1) windowNorm2[c]! += v * v;
        }
      }
    }
    const bump = this.bump(sh, sw, rng);
    const area = sh * sw;
    // The window takes what the image has left of ε² (shared over channels) plus what both windows held.
    const left = Math.max(this.epsilon ** 2 - this.deltaNorm2[i]!, 0) / C;
    for (let c = 0; c < C; c++) {
      const sign = rng.next() < 0.5 ? -1 : 1;
      const norm1 = Math.sqrt(windowNorm2[c]!);
      let size2 = 0;
      for (let a = 0; a < sh; a++)
        for (let b = 0; b < sw; b++) {
          const v = bump[a * sw + b]! * sign + delta[base + this.index(top1 + a, left1 + b, c)]! / (1e-10 + norm1);
          fresh[c * area + a * sw + b] = v;
          size2 += v * v;
        }
      const target = Math.sqrt(left + unionNorm2[c]!);
      const scale = size2 > 0 ? target / Math.sqrt(size2) : 0;
      for (let k = c * area; k < (c + 1) * area; k++) fresh[k] = fresh[k]! * scale;
    }
    const work = this.work;
    work.set(delta.subarray(base, base + size));
    for (let h = top2; h < top2 + sh; h++) for (let w = left2; w < left2 + sw; w++) for (let c = 0; c < C; c++) work[this.index(h, w, c)] = 0;
    for (let c = 0; c < C; c++)
      for (let a = 0; a < sh; a++) for (let b = 0; b < sw; b++) work[this.index(top1 + a, left1 + b, c)] = fresh[c * area + a * sw + b]!;
    const first = Math.min(this.index(top1, left1, 0), this.index(top2, left2, 0));
    this.place(i, work, out, at, first, this.prefix[base + first]!);
  }

  /**
   * x + ε δ/‖δ‖, clipped, at out[at…); a hair inside ε so float32 rounding cannot step over it.
   * ‖δ‖² is summed in index order from `from`, where the terms before it sum to `before`.
   */
  private place(i: number, delta: Float32Array, out: Float32Array, at: number, from: number, before: number): void {
    placeScaled(this.originals, i * this.size, delta, from, before, out, at, this.size, this.epsilon, this.low, this.high);
  }

  /** splitBump(rows, cols, rng), drawing the same numbers, with each profile computed once per run. */
  private bump(rows: number, cols: number, rng: Rng): Float64Array {
    const axis = splitAxis(rows, cols, rng);
    const key = (rows * (this.size + 1) + cols) * 3 + (axis === 'rows' ? 0 : axis === 'cols' ? 1 : 2);
    let bump = this.bumps.get(key);
    if (!bump) this.bumps.set(key, (bump = bumpAlong(rows, cols, axis)));
    return bump;
  }
}

/**
 * out[at…at+size) = clip(x + ε(1 − 1e-6) δ/‖δ‖), ‖δ‖² summed in index order from `from` after
 * `before`. Clipping before the float32 store equals clipping after it: rounding is monotone.
 */
function placeScaled(x: Float32Array, xAt: number, delta: Float32Array, from: number, before: number, out: Float32Array, at: number, size: number, epsilon: number, low: number, high: number): void {
  let n2 = before;
  for (let j = from; j < size; j++) {
    const d = delta[j]!;
    n2 += d * d;
  }
  const scale = n2 > 0 ? (epsilon * (1 - 1e-6)) / Math.sqrt(n2) : 0;
  const origin = x.subarray(xAt, xAt + size);
  const row = out.subarray(at, at + size);
  for (let j = 0; j < row.length; j++) {
    const v = origin[j]! + delta[j]! * scale;
    // Branches rather than `v < low ? low : …`, whose result mixes integer bounds with doubles
    // and costs V8 a boxed number per value.
    if (v < low) row[j] = low;
    else if (v > high) row[j] = high;
    else row[j] = v;
  }
}

/**
 * Andriushchenko et al.'s pseudo-Gaussian profile on an rows × cols window: nested rectangles
 * weighted 1/(k+1)², unit L2 norm.
 */
export function pseudoGaussian(rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  const rc = Math.floor(rows / 2) + 1;
  const cc = Math.floor(cols / 2) + 1;
  let r0 = rc - 1;
  let c0 = cc - 1;
  for (let k = 0; k < Math.max(rc, cc); k++) {
    for (let a = Math.max(r0, 0); a < Math.min(r0 + 2 * k + 1, rows); a++)
      for (let b = Math.max(c0, 0); b < Math.min(c0 + 2 * k + 1, cols); b++) out[a * cols + b]! += 1 / (k + 1) ** 2;
    r0 -= 1;
    c0 -= 1;
  }
  return normalise(out);
}

type Axis = 'rows' | 'cols' | null;

/** The axis a bump is split along: random where both allow it (one draw), else the one that does. */
function splitAxis(rows: number, cols: number, rng: Rng): Axis {
  if (rows >= 2 && cols >= 2) return rng.next() < 0.5 ? 'rows' : 'cols';
  return rows >= 2 ? 'rows' : cols >= 2 ? 'cols' : null;
}

/** Two pseudo-Gaussian halves of opposite sign, split along `axis`; a constant window when neither side splits. */
function bumpAlong(rows: number, cols: number, axis: Axis): Float64Array {
  const out = new Float64Array(rows * cols);
  if (axis === null) return out.fill(1);
  if (axis === 'rows') {
    const half = Math.floor(rows / 2);
    const upper = pseudoGaussian(half, cols);
    const lower = pseudoGaussian(rows - half, cols);
    for (let a = 0; a < rows; a++)
      for (let b = 0; b < cols; b++) out[a * cols + b] = a < half ? upper[a * cols + b]! : -lower[(a - half) * cols + b]!;
  } else {
    const half = Math.floor(cols / 2);
    const left = pseudoGaussian(rows, half);
    const right = pseudoGaussian(rows, cols - half);
    for (let a = 0; a < rows; a++)
      for (let b = 0; b < cols; b++) out[a * cols + b] = b < half ? left[a * half + b]! : -right[a * (cols - half) + (b - half)]!;
  }
  return normalise(out);
}

/** Two pseudo-Gaussian halves of opposite sign, split along a random axis that allows it. */
export function splitBump(rows: number, cols: number, rng: Rng): Float64Array {
  return bumpAlong(rows, cols, splitAxis(rows, cols, rng));
}

function normalise(v: Float64Array): Float64Array {
  let n2 = 0;
  for (const x of v) n2 += x * x;
  const n = Math.sqrt(n2);
  if (n > 0) for (let k = 0; k < v.length; k++) v[k] = v[k]! / n;
  return v;
}
