/**
 * Square's L∞ proposals (Andriushchenko et al. 2020; fra31/auto-attack's square.py): start from
 * vertical stripes of ±ε, then set one square window per iteration to x ± ε, one sign per
 * channel, redrawing signs that would leave the window as it was.
 */
import { SquareSearch } from './square-search.js';

export class LinfSquares extends SquareSearch {
  /** Vertical stripes: one ±ε per column and channel, constant down the image. */
  protected initial(i: number, out: Float32Array, at: number): void {
    const { originals: x, width, height, channels, epsilon, size } = this;
    const rng = this.rngs[i]!;
    const signs = Array.from({ length: width * channels }, () => (rng.next() < 0.5 ? -1 : 1));
    const base = i * size;
    for (let h = 0; h < height; h++)
      for (let w = 0; w < width; w++)
        for (let c = 0; c < channels; c++) {
          const j = this.index(h, w, c);
          out[at + j] = x[base + j]! + epsilon * signs[w * channels + c]!;
        }
    this.clip(out, at, at + size);
  }

  protected propose(i: number, it: number, out: Float32Array, at: number): void {
    const { originals: x, best, channels, epsilon, low, high, size } = this;
    const rng = this.rngs[i]!;
    const p = this.fraction(it);
    const [sh, sw] = this.window((p * size) / channels, 1);
    const top = rng.int(this.height - sh + 1);
    const left = rng.int(this.width - sw + 1);
    const base = i * size;
    out.set(best.subarray(base, base + size), at);
    // Redraw signs that would leave the window unchanged (the reference implementation's loop).
    for (let attempt = 0; attempt < 16; attempt++) {
      let changed = false;
      for (let c = 0; c < channels; c++) {
        const value = rng.next() < 0.5 ? -epsilon : epsilon;
        for (let h = top; h < top + sh; h++)
          for (let w = left; w < left + sw; w++) {
            const j = this.index(h, w, c);
            const v = Math.min(high, Math.max(low, x[base + j]! + value));
            if (Math.abs(v - best[base + j]!) >= 1e-7) changed = true;
            out[at + j] = v;
          }
      }
      if (changed) break;
    }
  }

  protected moved(): void {}
}
