/**
 * Lower bounds of the margins logit_label − logit_j (j ≠ label) over a region, by one method:
 * the specification rows e_label − e_j are carried back from the logits, so the last layer sees
 * them folded into its weights.
 */
import { ALPHA_DEFAULTS, alphaLowerBound, type AlphaOptions } from './alpha.js';
import type { Interval, Vec } from './ops/bound-op.js';
import type { BoundPropagation, LinearBounds } from './propagation.js';
import type { Region } from './region.js';
import type { BoundMethod } from './report.js';

export function specificationRows(label: number, classes: number): Vec[] {
  const rows: Vec[] = [];
  for (let j = 0; j < classes; j++) {
    if (j === label) continue;
    const c = new Float64Array(classes);
    c[label] = 1;
    c[j] = -1;
    rows.push(c);
  }
  return rows;
}

/** Per row, the best lower bound found so far, refined by stronger methods on demand. */
export class MarginBounds {
  readonly rows: Vec[];
  readonly bounds: number[];
  private state: LinearBounds | null = null;
  private alphaState: LinearBounds | null = null;
  private crownRows: number[] | null = null;
  /** The region's IBP bounds when computed together with other regions'. */
  private ibp: Interval[] | undefined;

  constructor(
    private readonly prop: BoundPropagation,
    readonly region: Region,
    label: number,
    private readonly checkpoint?: () => void,
    private readonly alpha: AlphaOptions = ALPHA_DEFAULTS,
  ) {
    this.rows = specificationRows(label, prop.outputSize);
    this.bounds = this.rows.map(() => -Infinity);
  }

  /** min over rows: a lower bound of the smallest margin. */
  get margin(): number {
    return this.rows.length === 0 ? Infinity : Math.min(...this.bounds);
  }

  /** Whether CROWN's relaxations exist yet (IBP bounds handed over after that go unused). */
  get linearized(): boolean {
    return this.state !== null;
  }

  /** Hands over the region's IBP bounds (from intervalViews of many regions): IBP and CROWN start from them. */
  useIntervals(slots: Interval[]): void {
    this.ibp ??= slots;
  }

  /**
   * Tightens the bounds with `method`; returns this method's own margin bound. `computed`: the
   * method's row bounds when found elsewhere (IBP of many samples at once).
   */
  refine(method: BoundMethod, computed?: number[]): number {
    const found = computed ?? this.compute(method);
    found.forEach((b, k) => (this.bounds[k] = Math.max(this.bounds[k]!, b)));
    return found.length === 0 ? Infinity : Math.min(...found);
  }

  private compute(method: BoundMethod): number[] {
    if (method === 'ibp') return this.ibp ? this.prop.intervalRowsFrom(this.region, this.rows, this.ibp) : this.prop.intervalRows(this.region, this.rows);
    this.state ??= this.prop.linearBounds(this.region, this.checkpoint, undefined, this.ibp);
    const output = this.prop.graph.output;
    this.crownRows ??= Array.from(this.prop.lowerBounds(output, this.rows.length, (k, into) => into.set(this.rows[k]!), this.region, this.state));
    if (method === 'crown') return this.crownRows;
    // α-CROWN only where the row is not already positive: the smallest margin is what counts.
    const open = (k: number) => !(this.crownRows![k]! > 0 && this.bounds[k]! > 0);
    if (!this.rows.some((_, k) => open(k))) return this.crownRows;
    // Intermediate bounds by α-CROWN too, intersected with CROWN's, where they feed relaxations.
    this.alphaState ??= this.alpha.intermediate
      ? this.prop.linearBounds(this.region, this.checkpoint, {
          refine: (slot, c, state) => {
            this.checkpoint?.();
            return alphaLowerBound(this.prop, slot, c, this.region, state, this.alpha);
          },
          tighten: this.state,
        }, this.state.ibp)
      : this.state;
    return this.rows.map((c, k) => {
      const crown = this.crownRows![k]!;
      if (!open(k)) return crown;
      this.checkpoint?.();
      return Math.max(crown, alphaLowerBound(this.prop, output, c, this.region, this.alphaState!, this.alpha));
    });
  }
}

/** IBP of many regions at once, handed to each: what IBP and CROWN of each then start from. */
export function shareIntervals(prop: BoundPropagation, all: readonly MarginBounds[]): void {
  if (all.length === 0) return;
  prop.intervalViews(all.map((b) => b.region)).forEach((slots, k) => all[k]!.useIntervals(slots));
}
