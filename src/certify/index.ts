/** Sound certificates: bound propagation (IBP, CROWN, α-CROWN), verify(), randomized smoothing. */
export { certify, type CertifyOptions } from './certify.js';
export { verify, type Verdict, type VerifyOptions, type VerifiedSample, type VerificationReport } from './verify.js';
export { isCertificationReport, type BoundMethod, type CertifyMethod, type CertificationReport, type CertifiedSample } from './report.js';
export type { CertifyNorm } from './region.js';
export { smoothed, certifySmoothed, isSmoothed, clopperPearsonLower, smoothingRadius, ABSTAIN } from './smoothing.js';
export type { SmoothedClassifier, SmoothedPredictOptions, CertifySmoothedOptions, SmoothedSample, SmoothingReport } from './smoothing.js';
export { ibpMargins } from './ibp-tensors.js';
