/**
 * ε as people write it. Budgets are usually chosen as short decimals (0.1) or as whole steps of an
 * 8-bit image (8/255); floating point turns the second kind into 0.03137254901960784. Every
 * message, table, caption and report prints ε through `formatEpsilon`, so one budget reads the
 * same everywhere.
 */

/** Relative tolerance when deciding that a float is a short decimal or a whole number of steps. */
const TOLERANCE = 1e-9;
const STEPS = 255;

/**
 * `0.1` → "0.1"; `8 / 255` → "8/255"; anything else to 4 significant digits. `bounds` is the input
 * range: a step is 1/255 of its width, so on [0, 2] `2 * 8 / 255` reads "16/255", and on [0, 255]
 * whole pixel values read as integers.
 */
export function formatEpsilon(epsilon: number | null | undefined, bounds: readonly [number, number] = [0, 1]): string {
  if (epsilon === null || epsilon === undefined) return '—';
  if (!Number.isFinite(epsilon)) return String(epsilon);
  if (epsilon === 0) return '0';
  const short = Number(epsilon.toPrecision(4));
  if (close(short, epsilon)) return String(short);
  const width = bounds[1] - bounds[0];
  const steps = (epsilon * STEPS) / width;
  const whole = Math.round(steps);
  if (whole !== 0 && close(whole, steps)) {
    // A whole number of steps prints as a fraction of 255 in the input's own units.
    const numerator = whole * width;
    if (Number.isInteger(numerator)) return `${numerator}/${STEPS}`;
    return `${whole}/${STEPS} × ${String(Number(width.toPrecision(4)))}`;
  }
  return String(short);
}

/** A list of ε, e.g. "[0.1, 8/255]". */
export function formatEpsilons(epsilons: readonly number[], bounds?: readonly [number, number]): string {
  return `[${epsilons.map((e) => formatEpsilon(e, bounds)).join(', ')}]`;
}

function close(a: number, b: number): boolean {
  return Math.abs(a - b) <= TOLERANCE * Math.max(Math.abs(a), Math.abs(b));
}
