/**
 * The range of a row of host values, and whether it holds a non-finite value: what input checks
 * and candidate checks read from every row, in one pass.
 */

/** The smallest and largest of values[start, end), and its first non-finite value (null if none). */
export function rowRange(values: Float32Array, start: number, end: number): { min: number; max: number; nonFinite: number | null } {
  let [min, max] = [Infinity, -Infinity];
  let nonFinite: number | null = null;
  for (let i = start; i < end; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    // v − v is 0 exactly when v is finite (NaN and ±∞ give NaN).
    if (nonFinite === null && !(v - v === 0)) nonFinite = v;
  }
  return { min, max, nonFinite };
}
