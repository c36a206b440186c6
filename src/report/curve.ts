/**
 * Robustness curves as stored in snapshots, and their comparison: a curve regresses when robust
 * accuracy at some stored ε falls more than the tolerance below the stored value. Values are
 * rounded to 3 decimals before they are stored or compared, so a curve read back compares equal.
 */
import type { RobustnessReport } from '../evaluate.js';

export interface StoredCurve {
  model: string;
  attacks: string[];
  norm: string;
  count: number;
  cleanAccuracy: number;
  epsilons: number[];
  robustAccuracy: number[];
}

export interface CurvePoint {
  epsilon: number;
  stored: number;
  current: number;
}

export interface CurveComparison {
  /** Points that fell more than the tolerance. */
  regressions: CurvePoint[];
  /** Points that rose (by any amount). */
  improvements: CurvePoint[];
  /** Stored ε the current report does not measure. */
  missing: number[];
  /** ε the current report measures that the stored curve lacks. */
  added: number[];
  /** Set when the curves were measured with different attacks, so they cannot be compared. */
  attackChanged: boolean;
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

export function curveOf(report: RobustnessReport): StoredCurve {
  return {
    model: report.model,
    attacks: [...report.attacks],
    norm: report.norm,
    count: report.count,
    cleanAccuracy: round3(report.cleanAccuracy),
    epsilons: report.epsilons.map((e) => e),
    robustAccuracy: report.robustAccuracy.map(round3),
  };
}

const sameEpsilon = (a: number, b: number): boolean => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

export function compareCurves(stored: StoredCurve, current: StoredCurve, tolerance: number): CurveComparison {
  const regressions: CurvePoint[] = [];
  const improvements: CurvePoint[] = [];
  const missing: number[] = [];
  stored.epsilons.forEach((epsilon, i) => {
    const j = current.epsilons.findIndex((e) => sameEpsilon(e, epsilon));
    if (j < 0) {
      missing.push(epsilon);
      return;
    }
    const point = { epsilon, stored: stored.robustAccuracy[i]!, current: round3(current.robustAccuracy[j]!) };
    // The small slack keeps a drop of exactly `tolerance` (in 3-decimal units) from failing on float error.
    if (point.stored - point.current > tolerance + 1e-9) regressions.push(point);
    else if (point.current > point.stored) improvements.push(point);
  });
  const added = current.epsilons.filter((e) => !stored.epsilons.some((s) => sameEpsilon(s, e)));
  const attackChanged = stored.norm !== current.norm || stored.attacks.join('\n') !== current.attacks.join('\n');
  return { regressions, improvements, missing, added, attackChanged };
}

/** Whether a value read from a snapshot file has the shape of a stored curve. */
export function isStoredCurve(value: unknown): value is StoredCurve {
  const v = value as StoredCurve;
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray(v.epsilons) &&
    Array.isArray(v.robustAccuracy) &&
    v.epsilons.length === v.robustAccuracy.length &&
    Array.isArray(v.attacks) &&
    typeof v.norm === 'string'
  );
}
