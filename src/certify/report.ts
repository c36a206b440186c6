/** The plain objects certify() and verify() return. */
import type { CertifyNorm } from './region.js';

export type BoundMethod = 'ibp' | 'crown' | 'alpha-crown';
export type CertifyMethod = BoundMethod | 'auto';

export interface CertifiedSample {
  index: number;
  label: number;
  /** The model's own (float32) prediction on the clean input. */
  prediction: number;
  /**
   * Per ε: a lower bound of min over j ≠ label of (logit_label − logit_j) over the ε-ball
   * intersected with the classifier's bounds.
   */
  margins: number[];
  /** Per ε: correctly classified and the margin bound is positive. */
  certified: boolean[];
  /** Per ε: the method whose bound certified the sample, or null. */
  certifiedBy: (BoundMethod | null)[];
  /**
   * Per ε: the strongest method whose bound was computed. Under 'auto', below 'alpha-crown' on an
   * uncertified, correctly classified sample only when the time budget ran out first.
   */
  strongest: BoundMethod[];
}

export interface CertificationReport {
  epsilons: number[];
  norm: CertifyNorm;
  method: CertifyMethod;
  count: number;
  cleanAccuracy: number;
  /** Per ε: the share of samples certified (a lower bound of robust accuracy). */
  certifiedAccuracy: number[];
  samples: CertifiedSample[];
  /** 'auto': the time budget, and whether it ran out before every method was tried where needed. */
  budget: { seconds: number; exhausted: boolean };
  seconds: number;
  backend: string;
}

export function isCertificationReport(value: unknown): value is CertificationReport {
  const r = value as CertificationReport;
  return typeof value === 'object' && value !== null && Array.isArray(r.certifiedAccuracy) && Array.isArray(r.epsilons) && Array.isArray(r.samples) && typeof r.method === 'string';
}

const round3 = (v: number): number => (Number.isFinite(v) ? Math.round(v * 1000) / 1000 : v);

/**
 * A certification as a robustness curve (certified accuracy in place of robust accuracy), the
 * form robustness snapshots store and compare: a lower bound that regresses is a regression.
 */
export function certificationCurve(report: CertificationReport): {
  model: string;
  attacks: string[];
  norm: CertifyNorm;
  count: number;
  cleanAccuracy: number;
  epsilons: number[];
  robustAccuracy: number[];
} {
  return {
    model: 'certified model',
    attacks: [`certificate (${report.method})`],
    norm: report.norm,
    count: report.count,
    cleanAccuracy: round3(report.cleanAccuracy),
    epsilons: [...report.epsilons],
    robustAccuracy: report.certifiedAccuracy.map(round3),
  };
}

/** The report without time and backend, margins rounded to 3 decimals: what a snapshot shows. */
export function stableCertification(report: CertificationReport): Record<string, unknown> {
  return {
    epsilons: report.epsilons.map(round3),
    norm: report.norm,
    method: report.method,
    count: report.count,
    cleanAccuracy: round3(report.cleanAccuracy),
    certifiedAccuracy: report.certifiedAccuracy.map(round3),
    samples: report.samples.map((s) => ({ index: s.index, label: s.label, prediction: s.prediction, margins: s.margins.map(round3), certified: [...s.certified], certifiedBy: [...s.certifiedBy] })),
  };
}
