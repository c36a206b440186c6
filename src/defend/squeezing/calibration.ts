/**
 * The detection threshold from clean scores: the smallest threshold that flags (score strictly
 * above it) at most ⌊rate·n⌋ of the n clean inputs. Ties at the threshold stay unflagged, so the
 * achieved rate can fall below the requested one; it is reported, never assumed.
 */
export interface Calibration {
  threshold: number;
  requestedFalsePositiveRate: number;
  /** Fraction of the calibration inputs the threshold flags. */
  achievedFalsePositiveRate: number;
  samples: number;
}

export function calibrate(scores: readonly number[], rate: number): Calibration {
  const sorted = Float64Array.from(scores).sort();
  const n = sorted.length;
  const allowed = Math.floor(rate * n + 1e-9);
  const threshold = sorted[n - 1 - allowed]!;
  const flagged = scores.filter((s) => s > threshold).length;
  return { threshold, requestedFalsePositiveRate: rate, achievedFalsePositiveRate: flagged / n, samples: n };
}
