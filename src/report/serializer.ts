/**
 * A snapshot serializer for RobustnessReports (Jest's and Vitest's `expect.addSnapshotSerializer`):
 * numbers rounded to 3 decimals; no wall-clock time, no backend name, no effort counters and no
 * adversarial inputs, so a snapshot changes only when the verdicts do.
 */
import type { RobustnessReport, SampleOutcome } from '../evaluate.js';
import { round3 } from './curve.js';
import { isCertificationReport, stableCertification, type CertificationReport } from '../certify/report.js';

// pretty-format's config and refs are passed through untouched; `any` lets Jest's and Vitest's types both fit.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Passed = any;
type Printer = (value: unknown, config: Passed, indentation: string, depth: number, refs: Passed) => string;

export function isRobustnessReport(value: unknown): value is RobustnessReport {
  const v = value as RobustnessReport;
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray(v.epsilons) &&
    Array.isArray(v.robustAccuracy) &&
    typeof v.cleanAccuracy === 'number' &&
    Array.isArray(v.samples) &&
    typeof v.backend === 'string' &&
    typeof v.seconds === 'number'
  );
}

const roundOrNull = (v: number | null): number | null => (v === null ? null : Number.isFinite(v) ? round3(v) : v);

/** The report as a plain, rounded object: what a snapshot of it contains. */
export function stableReport(report: RobustnessReport): Record<string, unknown> {
  return {
    model: report.model,
    attacks: [...report.attacks],
    norm: report.norm,
    epsilons: report.epsilons.map(round3),
    count: report.count,
    cleanAccuracy: round3(report.cleanAccuracy),
    robustAccuracy: report.robustAccuracy.map(round3),
    inputShape: [...report.inputShape],
    bounds: [...report.bounds],
    seed: report.seed,
    samples: report.samples.map((s: SampleOutcome) => ({
      index: s.index,
      label: s.label,
      prediction: s.prediction,
      correct: s.correct,
      breakingEpsilon: roundOrNull(s.breakingEpsilon),
      distance: roundOrNull(s.distance),
      adversarialClass: s.adversarialClass,
      adversarialConfidence: roundOrNull(s.adversarialConfidence),
      brokenBy: s.brokenBy,
    })),
  };
}

export const robustnessSerializer = {
  test(value: unknown): boolean {
    return isRobustnessReport(value) || isCertificationReport(value);
  },
  serialize(value: RobustnessReport | CertificationReport, config: Passed, indentation: string, depth: number, refs: Passed, printer: Printer): string {
    if (isCertificationReport(value)) return `CertificationReport ${printer(stableCertification(value), config, indentation, depth, refs)}`;
    return `RobustnessReport ${printer(stableReport(value), config, indentation, depth, refs)}`;
  },
};
