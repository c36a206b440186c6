/**
 * One FAB step of one lane on the host (Croce & Hein 2020, `fab_base.py`): the boundary
 * linearised at the iterate x₁ as f(x₁) + g·(z − x₁) = 0, the iterate and the original both
 * projected onto it inside the box, and the next iterate a convex combination of the two
 * projections, each overshot by η, with the original's weight α = ‖d₁‖ / (‖d₁‖ + ‖d₂‖) capped at
 * α_max. Works in unit-box coordinates u = (z − low) / width, as the reference does.
 *
 * A small function of its own, on typed arrays only, so that the engine compiles it once and
 * keeps it compiled; it runs for every lane at every step, and its loops are the attack's host cost.
 */
import { projectionStep, type ProjectionNorm } from './fab-projections.js';

export interface StepSettings {
  norm: ProjectionNorm;
  bounds: readonly [number, number];
  eta: number;
  alphaMax: number;
}

export class FabStep {
  private readonly u1: Float64Array;
  private readonly w: Float64Array;
  private readonly d1: Float64Array;
  private readonly d2: Float64Array;
  private readonly low: number;
  private readonly high: number;
  private readonly width: number;

  constructor(
    private readonly size: number,
    private readonly settings: StepSettings,
  ) {
    this.u1 = new Float64Array(size);
    this.w = new Float64Array(size);
    this.d1 = new Float64Array(size);
    this.d2 = new Float64Array(size);
    [this.low, this.high] = settings.bounds;
    this.width = this.high - this.low;
  }

  /**
   * The next iterate of a lane at x (its iterate), with u0 its original in unit-box coordinates,
   * df = f_c − f_y at x and its gradient at g[gAt … gAt + size), written to out[outAt …].
   */
  next(x: Float32Array, u0: Float64Array, df: number, g: Float32Array, gAt: number, out: Float32Array, outAt: number): void {
    const { size, u1, w, d1, d2, low, high, width } = this;
    const { norm, eta, alphaMax } = this.settings;
    let wu1 = 0;
    let wu0 = 0;
    if (low === 0 && width === 1)
      // The unit box itself (x − 0) / 1 = x and g · 1 = g, exactly: no division per input.
      for (let j = 0; j < size; j++) {
        const wj = g[gAt + j]!;
        const uj = x[j]!;
        w[j] = wj;
        u1[j] = uj;
        wu1 += wj * uj;
        wu0 += wj * u0[j]!;
      }
    else
      for (let j = 0; j < size; j++) {
        const wj = g[gAt + j]! * width;
        const uj = (x[j]! - low) / width;
        w[j] = wj;
        u1[j] = uj;
        wu1 += wj * uj;
        wu0 += wj * u0[j]!;
      }
    const b = -df + wu1;
    const a1 = Math.max(projectionStep(norm, u1, w, wu1, b, d1), 1e-8);
    const a2 = Math.max(projectionStep(norm, u0, w, wu0, b, d2), 1e-8);
    const alpha = Math.min(Math.max(a1 / (a1 + a2), 0), alphaMax);
    const keep = 1 - alpha;
    for (let j = 0; j < size; j++) {
      const u = (u1[j]! + eta * d1[j]!) * keep + (u0[j]! + eta * d2[j]!) * alpha;
      // Clipped to the box. Comparisons rather than Math.min and Math.max, which take a slow path
      // on ties (u = 0 on MNIST's background half the time); low + clipped · width ≥ low as it
      // stands, and above high only by rounding.
      const clipped = u > 1 ? 1 : u > 0 ? u : 0;
      const z = low + clipped * width;
      out[outAt + j] = z > high ? high : z;
    }
  }
}
