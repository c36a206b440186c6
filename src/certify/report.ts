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
  seconds: number;
  backend: string;
}

export function isCertificationReport(value: unknown): value is CertificationReport {
  const r = value as CertificationReport;
  return typeof value === 'object' && value !== null && Array.isArray(r.certifiedAccuracy) && Array.isArray(r.epsilons) && Array.isArray(r.samples) && typeof r.method === 'string';
}
