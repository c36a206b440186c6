/**
 * Square Attack (Andriushchenko et al. 2020): random search over square-shaped updates, scored
 * by the margin loss only (no gradients). L∞: each square is set to ±ε per channel, starting
 * from vertical stripes. L2: each step moves mass between two windows with a pseudo-Gaussian
 * profile, keeping ‖δ‖₂ = ε. The square's area shrinks on the paper's schedule (`p_init`
 * halved at fixed fractions of the query budget). A candidate is kept only if it lowers the
 * margin; a sample stops at its first adversarial.
 */
import { NORM_SYMBOL } from '../norms.js';
import type { Rng } from '../engine/random.js';
import { defineAttack } from './runner.js';
import { checkCriterion, checkInteger, checkKnownOptions, checkNorm, checkNumber, checkTarget } from './options.js';
import { describeTarget, geometry, QueryOracle } from './query/oracle.js';
import type { Attack, CriterionSpec, TargetSpec } from './types.js';

export interface SquareOptions {
  norm?: 'linf' | 'l2';
  /** Model queries per sample, the first one included. Default 5000. */
  queries?: number;
  /** Initial fraction of the input covered by a square. Default 0.8 (AutoAttack's value). */
  p_init?: number;
  target?: TargetSpec;
  criterion?: CriterionSpec;
}

export const SQUARE_DEFAULTS = { norm: 'linf', queries: 5000, p_init: 0.8 } as const;

export function square(options: SquareOptions = {}): Attack {
  checkKnownOptions(options, ['norm', 'queries', 'p_init', 'target', 'criterion'], 'square');
  const norm = checkNorm(options.norm ?? SQUARE_DEFAULTS.norm, ['linf', 'l2'], 'square');
  const queries = checkInteger(options.queries ?? SQUARE_DEFAULTS.queries, 'queries', 'square', 1);
  const pInit = checkNumber(options.p_init ?? SQUARE_DEFAULTS.p_init, 'p_init', 'square', 0, 1);
  if (pInit === 0) checkNumber(pInit, 'p_init', 'square', 0, 1, true);
  const target = checkTarget(options.target, 'square');
  const criterion = checkCriterion(options.criterion, target, { targeted: true, topK: true }, 'square');
  return defineAttack({
    name: 'Square',
    norm,
    kind: 'fixed-epsilon',
    requiresGradients: false,
    options: { norm, queries, p_init: pInit, target, criterion },
    describe: (o) => `Square (${NORM_SYMBOL[norm]}, ${queries} queries, p_init ${pInit}${describeTarget(o.target)})`,
    async perturb(ctx) {
      const oracle = await QueryOracle.create(ctx, queries);
      const search = norm === 'linf' ? new LinfSquares(oracle, ctx.epsilon!, pInit) : new L2Squares(oracle, ctx.epsilon!, pInit);
      return oracle.toTensor(await search.run());
    },
  });
}

/** The paper's schedule: the fraction p of pixels a square covers at iteration `it` of `total`. */
export function squareFraction(pInit: number, it: number, total: number): number {
  const t = Math.floor((it / total) * 10000);
  if (t <= 10) return pInit;
  const cuts = [50, 200, 500, 1000, 2000, 4000, 6000, 8000];
  for (let k = 0; k < cuts.length; k++) if (t <= cuts[k]!) return pInit / 2 ** (k + 1);
  return pInit / 512;
}

abstract class SquareSearch {
  protected readonly height: number;
  protected readonly width: number;
  protected readonly channels: number;
  protected readonly rngs: Rng[];

  constructor(
    protected readonly oracle: QueryOracle,
    protected readonly epsilon: number,
    protected readonly pInit: number,
  ) {
    ({ height: this.height, width: this.width, channels: this.channels } = geometry(oracle.sampleShape));
    this.rngs = Array.from({ length: oracle.count }, (_, i) => oracle.rng(i, 'square'));
  }

  protected index(h: number, w: number, c: number): number {
    return (h * this.width + w) * this.channels + c;
  }

  /** Side lengths of a window covering about `area` pixels: a square, or a segment on 1 × F rows. */
  protected window(area: number, minimum: number): [number, number] {
    if (this.height === 1) return [1, Math.max(1, Math.min(this.width - 1, Math.max(minimum, Math.round(area))))];
    const side = Math.max(1, Math.min(Math.min(this.height, this.width) - 1, Math.max(minimum, Math.round(Math.sqrt(area)))));
    return [side, side];
  }

  protected abstract initial(i: number): Float32Array;
  protected abstract propose(i: number, best: Float32Array, it: number): Float32Array;

  async run(): Promise<Float32Array[]> {
    const { oracle } = this;
    const all = [...Array(oracle.count).keys()];
    const best = all.map((i) => oracle.originals[i]!);
    if (this.epsilon === 0) return best;
    const start = all.map((i) => this.initial(i));
    const first = await oracle.ask(all, start);
    const loss = all.map((i) => oracle.marginOf(first.logits[i]!, i));
    all.forEach((i) => (best[i] = start[i]!));
    let active = all.filter((i) => !first.adversarial[i]);
    for (let it = 1; active.length > 0; it++) {
      active = active.filter((i) => oracle.remaining(i) > 0);
      if (active.length === 0) break;
      const candidates = active.map((i) => this.propose(i, best[i]!, it));
      const answers = await oracle.ask(active, candidates);
      active = active.filter((i, k) => {
        const m = oracle.marginOf(answers.logits[k]!, i);
        if (answers.adversarial[k] || m < loss[i]!) {
          best[i] = candidates[k]!;
          loss[i] = m;
        }
        return !answers.adversarial[k];
      });
    }
    return best;
  }
}

class LinfSquares extends SquareSearch {
  /** Vertical stripes: one ±ε per column and channel, constant down the image. */
  protected initial(i: number): Float32Array {
    const x = this.oracle.originals[i]!;
    const out = new Float32Array(x.length);
    const rng = this.rngs[i]!;
    const signs = Array.from({ length: this.width * this.channels }, () => (rng.next() < 0.5 ? -1 : 1));
    for (let h = 0; h < this.height; h++)
      for (let w = 0; w < this.width; w++)
        for (let c = 0; c < this.channels; c++) {
          const j = this.index(h, w, c);
          out[j] = x[j]! + this.epsilon * signs[w * this.channels + c]!;
        }
    return this.oracle.clip(out);
  }

  protected propose(i: number, best: Float32Array, it: number): Float32Array {
    const x = this.oracle.originals[i]!;
    const rng = this.rngs[i]!;
    const p = squareFraction(this.pInit, it, this.oracle.budget);
    const [sh, sw] = this.window((p * this.oracle.size) / this.channels, 1);
    const top = rng.int(this.height - sh + 1);
    const left = rng.int(this.width - sw + 1);
    const out = best.slice();
    // Redraw signs that would leave the window unchanged (the reference implementation's loop).
    for (let attempt = 0; attempt < 16; attempt++) {
      let changed = false;
      for (let c = 0; c < this.channels; c++) {
        const value = rng.next() < 0.5 ? -this.epsilon : this.epsilon;
        for (let h = top; h < top + sh; h++)
          for (let w = left; w < left + sw; w++) {
            const j = this.index(h, w, c);
            const v = Math.min(this.oracle.high, Math.max(this.oracle.low, x[j]! + value));
            if (Math.abs(v - best[j]!) >= 1e-7) changed = true;
            out[j] = v;
          }
      }
      if (changed) break;
    }
    return out;
  }
}

class L2Squares extends SquareSearch {
  protected initial(i: number): Float32Array {
    const rng = this.rngs[i]!;
    const delta = new Float32Array(this.oracle.size);
    // A grid of 5 × 5 blocks (5 segments on 1-D inputs), each a ± pseudo-Gaussian bump per channel.
    const bh = Math.max(1, Math.floor(this.height / 5));
    const bw = Math.max(1, Math.floor(this.width / 5));
    const top0 = Math.floor((this.height - bh * Math.min(5, Math.floor(this.height / bh))) / 2);
    const left0 = Math.floor((this.width - bw * Math.min(5, Math.floor(this.width / bw))) / 2);
    for (let top = top0; top + bh <= this.height && top < top0 + 5 * bh; top += bh)
      for (let left = left0; left + bw <= this.width && left < left0 + 5 * bw; left += bw) {
        const bump = splitBump(bh, bw, rng);
        for (let c = 0; c < this.channels; c++) {
          const sign = rng.next() < 0.5 ? -1 : 1;
          this.addWindow(delta, top, left, bh, bw, c, bump, sign);
        }
      }
    return this.place(i, delta);
  }

  protected propose(i: number, best: Float32Array, it: number): Float32Array {
    const x = this.oracle.originals[i]!;
    const rng = this.rngs[i]!;
    const C = this.channels;
    const delta = new Float32Array(best.length);
    for (let j = 0; j < delta.length; j++) delta[j] = best[j]! - x[j]!;
    const p = squareFraction(this.pInit, it, this.oracle.budget);
    let [sh, sw] = this.window((p * this.oracle.size) / C, 3);
    // An odd side, as in the reference implementation, so the bump has a centre.
    if (this.height > 1 && sh % 2 === 0 && sh + 1 < Math.min(this.height, this.width)) sh = sw = sh + 1;
    if (this.height === 1 && sw % 2 === 0 && sw + 1 < this.width) sw += 1;
    const top1 = rng.int(this.height - sh + 1);
    const left1 = rng.int(this.width - sw + 1);
    const top2 = rng.int(this.height - sh + 1);
    const left2 = rng.int(this.width - sw + 1);
    const inside = (h: number, w: number, top: number, left: number) => h >= top && h < top + sh && w >= left && w < left + sw;

    let imageNorm2 = 0;
    for (const v of delta) imageNorm2 += v * v;
    const windowNorm = new Float64Array(C);
    const unionNorm2 = new Float64Array(C);
    for (let h = 0; h < this.height; h++)
      for (let w = 0; w < this.width; w++) {
        const in1 = inside(h, w, top1, left1);
        if (!in1 && !inside(h, w, top2, left2)) continue;
        for (let c = 0; c < C; c++) {
          const v = delta[this.index(h, w, c)]!;
          unionNorm2[c] += v * v;
          if (in1) windowNorm[c] += v * v;
        }
      }
    const bump = splitBump(sh, sw, rng);
    const fresh: Float64Array[] = [];
    for (let c = 0; c < C; c++) {
      const sign = rng.next() < 0.5 ? -1 : 1;
      const norm1 = Math.sqrt(windowNorm[c]!);
      const update = new Float64Array(sh * sw);
      let size2 = 0;
      for (let a = 0; a < sh; a++)
        for (let b = 0; b < sw; b++) {
          const v = bump[a * sw + b]! * sign + delta[this.index(top1 + a, left1 + b, c)]! / (1e-10 + norm1);
          update[a * sw + b] = v;
          size2 += v * v;
        }
      // The window takes what the image has left of ε² (shared over channels) plus what both windows held.
      const target = Math.sqrt(Math.max(this.epsilon ** 2 - imageNorm2, 0) / C + unionNorm2[c]!);
      const scale = size2 > 0 ? target / Math.sqrt(size2) : 0;
      for (let k = 0; k < update.length; k++) update[k] = update[k]! * scale;
      fresh.push(update);
    }
    for (let h = top2; h < top2 + sh; h++) for (let w = left2; w < left2 + sw; w++) for (let c = 0; c < C; c++) delta[this.index(h, w, c)] = 0;
    for (let c = 0; c < C; c++)
      for (let a = 0; a < sh; a++) for (let b = 0; b < sw; b++) delta[this.index(top1 + a, left1 + b, c)] = fresh[c]![a * sw + b]!;
    return this.place(i, delta);
  }

  private addWindow(delta: Float32Array, top: number, left: number, sh: number, sw: number, c: number, bump: Float64Array, sign: number): void {
    for (let a = 0; a < sh; a++) for (let b = 0; b < sw; b++) delta[this.index(top + a, left + b, c)]! += sign * bump[a * sw + b]!;
  }

  /** x + ε δ/‖δ‖, clipped; a hair inside ε so float32 rounding cannot step over it. */
  private place(i: number, delta: Float32Array): Float32Array {
    const x = this.oracle.originals[i]!;
    let n2 = 0;
    for (const v of delta) n2 += v * v;
    const scale = n2 > 0 ? (this.epsilon * (1 - 1e-6)) / Math.sqrt(n2) : 0;
    const out = new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) out[j] = x[j]! + delta[j]! * scale;
    return this.oracle.clip(out);
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

/** Two pseudo-Gaussian halves of opposite sign, split along a random axis that allows it. */
export function splitBump(rows: number, cols: number, rng: Rng): Float64Array {
  const out = new Float64Array(rows * cols);
  const axes = [rows >= 2 ? 'rows' : null, cols >= 2 ? 'cols' : null].filter((a) => a !== null);
  if (axes.length === 0) return out.fill(1);
  const axis = axes.length === 2 ? (rng.next() < 0.5 ? 'rows' : 'cols') : axes[0];
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

function normalise(v: Float64Array): Float64Array {
  let n2 = 0;
  for (const x of v) n2 += x * x;
  const n = Math.sqrt(n2);
  if (n > 0) for (let k = 0; k < v.length; k++) v[k] = v[k]! / n;
  return v;
}
