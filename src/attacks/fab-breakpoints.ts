/**
 * The search at the heart of FAB's L∞ and L2 projections. Both move every coordinate by a
 * common amount λ until it hits the box, so the hyperplane is reached where a piecewise-linear,
 * non-decreasing function of λ meets a target:
 *
 *   F(λ) = Σ_i v_i · min(q_i, λ),   v_i ≥ 0,
 *
 * with q_i the room of coordinate i (λ at which it saturates) and v_i its weight (|w_i| in L∞,
 * w_i² in L2). The reference sorts the q_i, takes cumulative sums and bisects over positions;
 * only the breakpoint next to the root matters, so a selection finds it instead: partition the
 * candidates around a pivot breakpoint, evaluate F there from running sums, keep the side that
 * holds the answer. Expected linear time, against the sort's n log n, and no index array.
 * Breakpoints that tie are one breakpoint, as they are in the reference's cumulative sums once its
 * bisection lands on the last of them.
 */

/** What `searchBreakpoint` found; one shared object, as the projections run twice per FAB step. */
export interface Breakpoint {
  /** The breakpoint q*, or NaN when none qualifies. */
  at: number;
  /** F(q*). */
  value: number;
  /**
   * Σ v_i over the coordinates still moving past q*: q_i > q* when searching below the target,
   * q_i ≥ q* when searching above it (the slope of F just right, or just left, of q*).
   */
  slope: number;
}

/** Candidate keys and weights, ping-ponged between two halves; grown to the largest n seen. */
let keys = new Float64Array(0);
let weights = new Float64Array(0);
const found: Breakpoint = { at: NaN, value: NaN, slope: NaN };

/**
 * The arrays a caller fills with the first `m` candidates (m ≤ n) before `searchBreakpoint(n, m, …)`:
 * breakpoint q_i in keys, weight v_i > 0 in weights, each finite. Shared by every search, so
 * filled and searched without anything in between.
 */
export function breakpointBuffers(n: number): { keys: Float64Array; weights: Float64Array } {
  if (keys.length < 2 * n) {
    keys = new Float64Array(2 * n);
    weights = new Float64Array(2 * n);
  }
  return { keys, weights };
}

/**
 * Over the m candidates in `breakpointBuffers(n)` and `extraSlope` more weight from coordinates
 * that never saturate (q = ∞, left out of the candidates): with side 'below', the largest q_j with
 * F(q_j) < target; with side 'above', the smallest q_j with F(q_j) > target. Coordinates of zero
 * weight are left out by the caller: they move F nowhere.
 */
export function searchBreakpoint(n: number, m: number, extraSlope: number, target: number, side: 'below' | 'above'): Breakpoint {
  let from = 0;
  let half = 0;
  // F over the candidates' complement: Σ v·q of those known to lie below every candidate, and
  // Σ v of those known to lie above (they contribute v·λ).
  let belowVQ = 0;
  let aboveV = extraSlope;
  found.at = NaN;
  found.value = NaN;
  found.slope = NaN;
  while (m > 0) {
    // The median of five candidates spread over the range: coordinates come in image order, whose
    // borders (first and last) share rooms, so the ends alone make a poor sample.
    const pivot = m < 5 ? medianOfThree(keys[from]!, keys[from + (m >>> 1)]!, keys[from + m - 1]!) : medianOfFive(from, m);
    // One pass: the candidates under the pivot go to the front of the other half, those over it
    // to its back; the tied ones are summed and dropped.
    const other = half === 0 ? n : 0;
    let lower = other;
    let upper = other + n;
    let lowVQ = 0;
    let tiedV = 0;
    let highV = 0;
    // Branch-free: every candidate is written to both ends and only the end it belongs to moves
    // on (the sides of a pivot are a coin toss per candidate).
    for (let k = from, end = from + m; k < end; k++) {
      const key = keys[k]!;
      const weight = weights[k]!;
      const under = +(key < pivot);
      const over = +(key > pivot);
      keys[lower] = key;
      weights[lower] = weight;
      lower += under;
      keys[upper - 1] = key;
      weights[upper - 1] = weight;
      upper -= over;
      lowVQ += weight * key * under;
      highV += weight * over;
      tiedV += weight * (1 - under - over);
    }
    const value = belowVQ + lowVQ + pivot * (tiedV + highV + aboveV);
    half = other;
    if (side === 'below' ? value < target : !(value > target)) {
      // The answer is at or beyond the pivot: everything up to it is now known to lie below.
      if (side === 'below') {
        found.at = pivot;
        found.value = value;
        found.slope = highV + aboveV;
      }
      belowVQ += lowVQ + pivot * tiedV;
      from = upper;
      m = other + n - upper;
    } else {
      if (side === 'above') {
        found.at = pivot;
        found.value = value;
        found.slope = tiedV + highV + aboveV;
      }
      aboveV += tiedV + highV;
      from = other;
      m = lower - other;
    }
  }
  return found;
}

const sample = new Float64Array(5);

/** The median of keys at five offsets from `from`, by insertion sort of the five. */
function medianOfFive(from: number, m: number): number {
  for (let k = 0; k < 5; k++) {
    const v = keys[from + Math.floor((m * (k + 1)) / 6)]!;
    let j = k - 1;
    while (j >= 0 && sample[j]! > v) {
      sample[j + 1] = sample[j]!;
      j--;
    }
    sample[j + 1] = v;
  }
  return sample[2]!;
}

function medianOfThree(a: number, b: number, c: number): number {
  if (a < b) return b < c ? b : a < c ? c : a;
  return a < c ? a : b < c ? c : b;
}
